/* Looks into Windows Credential Manager for the tests that run codex.exe under Wine, as
 * secret-tool does on Linux (test scaffolding, built by scripts/cross, ships nowhere):
 *   credtool list           one line per generic credential: target name, TAB, user name, TAB,
 *                           comment
 *   credtool read TARGET    the credential's blob, read as the UTF-16 text the keyring crate
 *                           writes, printed as UTF-8 (exit 1 when there is no such credential)
 * Output is written as bytes: no CRLF. */
#include <windows.h>
#include <wincred.h>

static void out(const wchar_t *text, int units) {
    int size = WideCharToMultiByte(CP_UTF8, 0, text, units, NULL, 0, NULL, NULL);
    char *bytes = HeapAlloc(GetProcessHeap(), 0, size > 0 ? size : 1);
    DWORD written;
    WideCharToMultiByte(CP_UTF8, 0, text, units, bytes, size, NULL, NULL);
    WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), bytes, size, &written, NULL);
    HeapFree(GetProcessHeap(), 0, bytes);
}

static void field(const wchar_t *text, const wchar_t *after) {
    if (text) out(text, lstrlenW(text));
    out(after, lstrlenW(after));
}

int wmain(int argc, wchar_t **argv) {
    if (argc == 2 && lstrcmpW(argv[1], L"list") == 0) {
        DWORD count = 0;
        PCREDENTIALW *creds = NULL;
        if (!CredEnumerateW(NULL, 0, &count, &creds))
            return GetLastError() == ERROR_NOT_FOUND ? 0 : 2;
        for (DWORD i = 0; i < count; i++) {
            if (creds[i]->Type != CRED_TYPE_GENERIC) continue;
            field(creds[i]->TargetName, L"\t");
            field(creds[i]->UserName, L"\t");
            field(creds[i]->Comment, L"\n");
        }
        CredFree(creds);
        return 0;
    }
    if (argc == 3 && lstrcmpW(argv[1], L"read") == 0) {
        PCREDENTIALW cred = NULL;
        if (!CredReadW(argv[2], CRED_TYPE_GENERIC, 0, &cred))
            return GetLastError() == ERROR_NOT_FOUND ? 1 : 2;
        out((const wchar_t *)cred->CredentialBlob, (int)(cred->CredentialBlobSize / 2));
        CredFree(cred);
        return 0;
    }
    return 3;
}
