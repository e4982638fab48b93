/* A stand-in for Windows' bcryptprimitives.dll, for running codex.exe under Wine 8 only.
 *
 * Rust's std on Windows draws its random numbers (HashMap keys, ...) from ProcessPrng in
 * bcryptprimitives.dll, which Wine 8 does not export, so the binary would not start. This DLL,
 * placed next to codex.exe by scripts/cross, exports ProcessPrng by calling BCryptGenRandom
 * with the system's preferred generator, which Wine has. Test scaffolding: it ships nowhere,
 * and real Windows has its own. */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
