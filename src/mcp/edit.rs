//! `codex mcp add|remove`: config.toml edited as text, so the user's comments, order and layout
//! stay as they were. An addition is a table appended at the end; a removal takes out the
//! server's `[mcp_servers.NAME]` and `[mcp_servers.NAME.*]` tables. Either edit is checked by
//! parsing the result: it must equal the old document plus or minus that one server, else
//! nothing is written and the user is told to edit by hand (a server written as an inline table
//! or with dotted keys). The file is replaced atomically and keeps its mode. No TOML editing
//! crate is needed for this: `toml` parses, the text is ours to splice.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::fsutil::{self, ReadError};

#[derive(Debug, Error)]
pub enum EditError {
    #[error(
        "`{0}` is not a usable server name: use letters, digits, `-` and `_` (as the reference CLI does)"
    )]
    BadName(String),
    #[error(
        "{0} is not an http(s) URL; expected the server's streamable HTTP endpoint, such as https://mcp.example.com/mcp"
    )]
    BadUrl(String),
    #[error("MCP server '{0}' already exists in {1}; remove it first (codex mcp remove {0})")]
    Exists(String, PathBuf),
    #[error("cannot read `{path}`: {detail}")]
    Unreadable { path: PathBuf, detail: String },
    #[error(
        "cannot parse `{path}` (line {line}, column {column}): fix it first; nothing was changed"
    )]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    #[error(
        "cannot {action} [mcp_servers.{name}] in `{path}` without rewriting it (is the server written as an inline table or with dotted keys?); edit the file by hand. Nothing was changed"
    )]
    NotSpliceable {
        action: &'static str,
        name: String,
        path: PathBuf,
    },
    #[error("`{0}` is a symbolic link; edit the file it points to by hand. Nothing was changed")]
    Link(PathBuf),
    #[error(transparent)]
    Write(#[from] crate::store::StoreError),
}

/// The reference's rule for server names.
fn check_name(name: &str) -> Result<(), EditError> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    match ok {
        true => Ok(()),
        false => Err(EditError::BadName(
            crate::untrusted::printable(name).into_owned(),
        )),
    }
}

/// config.toml's text (empty when there is none) and its mode.
fn read(path: &Path) -> Result<(String, Option<u32>), EditError> {
    let unreadable = |detail: String| EditError::Unreadable {
        path: path.to_path_buf(),
        detail,
    };
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(EditError::Link(path.to_path_buf()));
    }
    match fsutil::read(path, fsutil::CONFIG_TOML_CAP) {
        Ok((bytes, meta)) => {
            let text =
                String::from_utf8(bytes).map_err(|_| unreadable("it is not UTF-8".to_string()))?;
            #[cfg(unix)]
            let mode = Some(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777);
            #[cfg(not(unix))]
            let mode = {
                let _ = meta;
                None
            };
            Ok((text, mode))
        }
        Err(ReadError::NotFound) => Ok((String::new(), None)),
        Err(e) => Err(unreadable(e.to_string())),
    }
}

fn parse(path: &Path, text: &str) -> Result<toml::Table, EditError> {
    toml::from_str(text).map_err(|e: toml::de::Error| {
        let (line, column) = e
            .span()
            .map(|s| crate::config::toml_file::line_col(text, s.start))
            .unwrap_or((1, 1));
        EditError::Malformed {
            path: path.to_path_buf(),
            line,
            column,
        }
    })
}

/// `table` without `mcp_servers.NAME` (and without an `mcp_servers` left empty).
fn without(mut table: toml::Table, name: &str) -> toml::Table {
    if let Some(toml::Value::Table(servers)) = table.get_mut("mcp_servers") {
        servers.remove(name);
        if servers.is_empty() {
            table.remove("mcp_servers");
        }
    }
    table
}

fn has_server(table: &toml::Table, name: &str) -> bool {
    table
        .get("mcp_servers")
        .and_then(|s| s.as_table())
        .is_some_and(|s| s.contains_key(name))
}

/// Replaces config.toml by `text`, keeping its mode (a new file: 0600).
fn write(codex_home: &Path, path: &Path, text: &str, mode: Option<u32>) -> Result<(), EditError> {
    crate::store::lock::ensure_dir(codex_home)?;
    crate::store::file::replace_atomically_named(
        codex_home,
        path,
        text.as_bytes(),
        ".config.toml.tmp.",
    )?;
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| crate::store::StoreError::io("keep the permissions of", path, e))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    Ok(())
}

/// Appends `[mcp_servers.NAME] url = "URL"` to config.toml.
pub fn add(codex_home: &Path, name: &str, url: &str) -> Result<PathBuf, EditError> {
    check_name(name)?;
    if crate::http::http_url(url).is_none() {
        return Err(EditError::BadUrl(crate::secret::shown_url(url)));
    }
    let path = codex_home.join("config.toml");
    let (text, mode) = read(&path)?;
    let before = parse(&path, &text)?;
    if has_server(&before, name) {
        return Err(EditError::Exists(name.to_string(), path));
    }
    let mut added = text.clone();
    if !added.is_empty() {
        if !added.ends_with('\n') {
            added.push('\n');
        }
        added.push('\n');
    }
    let quoted = basic_string(url.trim());
    added.push_str(&format!("[mcp_servers.{name}]\nurl = {quoted}\n"));
    let after = parse(&path, &added)?;
    let spliced = has_server(&after, name) && without(after, name) == without(before, name);
    if !spliced {
        return Err(EditError::NotSpliceable {
            action: "add",
            name: name.to_string(),
            path,
        });
    }
    write(codex_home, &path, &added, mode)?;
    Ok(path)
}

/// A TOML basic string (quoted, with `"`, `\\` and control characters escaped).
fn basic_string(text: &str) -> String {
    let mut out = String::from('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `line` is the header of `[mcp_servers.NAME]` or one of its subtables.
fn is_server_header(line: &str, name: &str) -> bool {
    let Some(inner) = line
        .trim()
        .split('#')
        .next()
        .map(str::trim)
        .and_then(|l| l.strip_prefix('['))
        .and_then(|l| l.strip_suffix(']'))
    else {
        return false;
    };
    if inner.starts_with('[') {
        return false;
    }
    let parts: Vec<String> = inner
        .split('.')
        .map(|p| p.trim().trim_matches('"').trim_matches('\'').to_string())
        .collect();
    parts.len() >= 2 && parts[0] == "mcp_servers" && parts[1] == name
}

fn is_header(line: &str) -> bool {
    line.trim_start().starts_with('[')
}

/// Takes `[mcp_servers.NAME]` and its subtables out of config.toml. `Ok(None)`: there is no
/// such server.
pub fn remove(codex_home: &Path, name: &str) -> Result<Option<PathBuf>, EditError> {
    let path = codex_home.join("config.toml");
    let (text, mode) = read(&path)?;
    let before = parse(&path, &text)?;
    if !has_server(&before, name) {
        return Ok(None);
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut keep = vec![true; lines.len()];
    let mut i = 0;
    while i < lines.len() {
        if !is_server_header(lines[i], name) {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < lines.len() && !is_header(lines[i]) {
            i += 1;
        }
        // Comment lines right above the next table are the next table's; blank lines before
        // them go with the removed table, so no gap is left behind.
        let mut end = i;
        while end > start + 1 && lines[end - 1].trim_start().starts_with('#') {
            end -= 1;
        }
        for k in keep.iter_mut().take(end).skip(start) {
            *k = false;
        }
    }
    let removed: String = lines
        .iter()
        .zip(&keep)
        .filter_map(|(line, keep)| keep.then_some(*line))
        .collect();
    let after = parse(&path, &removed)?;
    if has_server(&after, name) || without(after, name) != without(before, name) {
        return Err(EditError::NotSpliceable {
            action: "remove",
            name: name.to_string(),
            path,
        });
    }
    write(codex_home, &path, &removed, mode)?;
    Ok(Some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_a_server_and_its_subtables() {
        assert!(is_server_header("[mcp_servers.docs]", "docs"));
        assert!(is_server_header(
            "  [ mcp_servers . \"docs\" . oauth ] # x",
            "docs"
        ));
        assert!(!is_server_header("[mcp_servers.docs2]", "docs"));
        assert!(!is_server_header("[[mcp_servers.docs]]", "docs"));
        assert!(!is_server_header("url = \"[mcp_servers.docs]\"", "docs"));
    }
}
