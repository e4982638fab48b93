//! The one way this program opens a file it reads. The rules it enforces, for auth.json,
//! config.toml, auth.lock, CA bundles and certificate directories alike:
//!
//! - **We only ever open regular files.** A file is opened without blocking (`O_NONBLOCK`: a FIFO
//!   with no writer cannot hang us), then checked with `fstat` (after following symlinks) to be a
//!   regular file; a FIFO, device, socket or directory is refused, and the error names it.
//! - **Every read has a size cap**, and a larger file is refused with an error naming the file and
//!   the cap, before anything is read (a link to `/dev/zero` is a device, and is refused anyway).
//!
//! Two more rules live with the code that writes (`store/file.rs`, `store/lock.rs`): we only
//! delete or rename what we wrote, and we only change the modes of what we create. The last one,
//! "no panic reaches the user", lives in `report.rs` (and the panic hook in `main.rs`).

use std::fmt;
use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

/// Size caps, each named in the error when a file exceeds it: far above what the file holds
/// (credentials are a few KiB), far below what would hurt.
pub const AUTH_JSON_CAP: Cap = Cap::new(8 << 20, "a credentials file");
pub const CONFIG_TOML_CAP: Cap = Cap::new(4 << 20, "a configuration file");
pub const CA_BUNDLE_CAP: Cap = Cap::new(16 << 20, "a CA bundle");
pub const ACCOUNTS_INDEX_CAP: Cap = Cap::new(8 << 20, "the saved accounts' index");

/// A size limit: so many bytes (shown as `16 KiB` / `1 MiB`), the most `of` may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    pub bytes: u64,
    pub of: &'static str,
}

impl Cap {
    pub const fn new(bytes: u64, of: &'static str) -> Cap {
        Cap { bytes, of }
    }
}

impl fmt::Display for Cap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.bytes {
            n if n >= 1 << 20 && n % (1 << 20) == 0 => write!(f, "{} MiB", n >> 20),
            n if n >= 1 << 10 && n % (1 << 10) == 0 => write!(f, "{} KiB", n >> 10),
            n => write!(f, "{n} bytes"),
        }
    }
}

/// What a path turned out to be when it is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Directory,
    Fifo,
    CharDevice,
    BlockDevice,
    Socket,
    Unknown,
}

impl Kind {
    fn of(meta: &Metadata) -> Option<Kind> {
        let t = meta.file_type();
        if t.is_file() {
            return None;
        }
        if t.is_dir() {
            return Some(Kind::Directory);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if t.is_fifo() {
                return Some(Kind::Fifo);
            }
            if t.is_char_device() {
                return Some(Kind::CharDevice);
            }
            if t.is_block_device() {
                return Some(Kind::BlockDevice);
            }
            if t.is_socket() {
                return Some(Kind::Socket);
            }
        }
        Some(Kind::Unknown)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Directory => "a directory",
            Kind::Fifo => "a FIFO (named pipe)",
            Kind::CharDevice => "a character device",
            Kind::BlockDevice => "a block device",
            Kind::Socket => "a socket",
            Kind::Unknown => "a special file",
        })
    }
}

/// Why a file could not be read. The caller names the file; `Display` is the rest of the
/// sentence ("`auth.json` is a FIFO (named pipe), not a regular file").
#[derive(Debug)]
pub enum ReadError {
    NotFound,
    NotRegular(Kind),
    TooLarge(Cap),
    Io(std::io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotFound => f.write_str("does not exist"),
            ReadError::NotRegular(kind) => write!(f, "is {kind}, not a regular file"),
            ReadError::TooLarge(cap) => {
                write!(f, "is larger than {cap}, the most {} may hold", cap.of)
            }
            ReadError::Io(e) => write!(f, "cannot be read ({e})"),
        }
    }
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => ReadError::NotFound,
            _ => ReadError::Io(e),
        }
    }
}

/// Opens `path` for reading (following symlinks) without blocking, and only if it is a regular
/// file. Returns the file and its metadata (from the open file, so they describe what is read).
pub fn open_regular(path: &Path) -> Result<(File, Metadata), ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(|e| match e.raw_os_error() {
        // A socket cannot be opened at all.
        #[cfg(unix)]
        Some(libc::ENXIO) => ReadError::NotRegular(Kind::Socket),
        _ => ReadError::from(e),
    })?;
    let meta = file.metadata()?;
    match Kind::of(&meta) {
        Some(kind) => Err(ReadError::NotRegular(kind)),
        None => Ok((file, meta)),
    }
}

/// The whole of a regular file, at most `cap` bytes of it.
pub fn read(path: &Path, cap: Cap) -> Result<(Vec<u8>, Metadata), ReadError> {
    let (file, meta) = open_regular(path)?;
    if meta.len() > cap.bytes {
        return Err(ReadError::TooLarge(cap));
    }
    let bytes = read_capped(file, cap)?;
    Ok((bytes, meta))
}

/// Reads a stream to its end, refusing more than `cap` bytes (a file that grows while it is
/// read, or standard input).
pub fn read_capped(reader: impl Read, cap: Cap) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    reader
        .take(cap.bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > cap.bytes {
        return Err(ReadError::TooLarge(cap));
    }
    Ok(bytes)
}

/// Opens (creating it 0600 if needed) a lock file for reading and writing, never through a
/// symlink and only if it is a regular file.
pub fn open_lock_file(path: &Path) -> Result<File, ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
    }
    let file = options.open(path).map_err(|e| match e.raw_os_error() {
        #[cfg(unix)]
        Some(libc::ELOOP) => ReadError::Io(std::io::Error::other(
            "it is a symbolic link, and a lock file is never followed through one",
        )),
        #[cfg(unix)]
        Some(libc::ENXIO) => ReadError::NotRegular(Kind::Socket),
        _ => ReadError::Io(e),
    })?;
    let meta = file.metadata()?;
    match Kind::of(&meta) {
        Some(kind) => Err(ReadError::NotRegular(kind)),
        None => Ok(file),
    }
}

/// The group/other permission bits of a file, when it is readable or writable by others.
pub fn loose_mode(meta: &Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_read_as_units() {
        assert_eq!(AUTH_JSON_CAP.to_string(), "8 MiB");
        assert_eq!(Cap::new(16 << 10, "x").to_string(), "16 KiB");
        assert_eq!(Cap::new(1000, "x").to_string(), "1000 bytes");
        assert_eq!(
            ReadError::TooLarge(CONFIG_TOML_CAP).to_string(),
            "is larger than 4 MiB, the most a configuration file may hold"
        );
    }

    #[test]
    fn only_regular_files_within_the_cap_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"12345").unwrap();
        let (four, five) = (Cap::new(4, "x"), Cap::new(5, "x"));
        assert_eq!(read(&file, five).unwrap().0, b"12345");
        assert!(matches!(read(&file, four), Err(ReadError::TooLarge(c)) if c == four));
        assert!(matches!(
            read(dir.path(), four),
            Err(ReadError::NotRegular(Kind::Directory))
        ));
        assert!(matches!(
            read(&dir.path().join("missing"), four),
            Err(ReadError::NotFound)
        ));
        assert!(matches!(
            read_capped(&b"123456"[..], five),
            Err(ReadError::TooLarge(_))
        ));
        #[cfg(unix)]
        assert!(matches!(
            read(Path::new("/dev/zero"), four),
            Err(ReadError::NotRegular(Kind::CharDevice))
        ));
    }
}

/// The command that removes `path`, for advice in an error: what the user types in this
/// system's shell (`rm` in a POSIX shell, quoted when the path needs it; `del "…"` on Windows,
/// where `rm` is not a command of cmd.exe).
pub fn remove_command(path: &Path) -> String {
    let shown = path.display().to_string();
    if cfg!(windows) {
        return format!("del \"{shown}\"");
    }
    let plain = shown
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%=~".contains(c));
    if plain {
        format!("rm {shown}")
    } else {
        format!("rm '{}'", shown.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod remove_command_tests {
    use super::remove_command;
    use std::path::Path;

    #[test]
    #[cfg(unix)]
    fn quotes_only_what_a_shell_would_split_or_expand() {
        assert_eq!(
            remove_command(Path::new("/h/.codex/auth.json")),
            "rm /h/.codex/auth.json"
        );
        assert_eq!(
            remove_command(Path::new("/h/my codex/it's.json")),
            r"rm '/h/my codex/it'\''s.json'"
        );
        assert_eq!(remove_command(Path::new("/h/$HOME*")), "rm '/h/$HOME*'");
    }
}
