//! Quoted globs (`'logs/*.txt'`), expanded by rbag as a shell would: one
//! pattern per path component, matched against directory entries as bytes
//! (names need not be UTF-8), `*` and `?` never matching a leading dot
//! unless the pattern component starts with one, `**` matching any number
//! of directories, results in byte order.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

use crate::error::Error;
use crate::error::display_bytes;

/// Whether an argument looks like a glob.
pub fn is_glob(arg: &OsStr) -> bool {
    arg.as_bytes()
        .iter()
        .any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// One component of a pattern.
enum Part {
    Literal(OsString),
    Pattern {
        matcher: GlobMatcher,
        dot: bool,
    },
    /// `**`: any number of directories, none included.
    Any,
}

/// Expand `pattern` into the paths it matches, in byte order.
///
/// # Errors
/// A malformed pattern, a pattern that is not UTF-8 where it has wildcards,
/// a directory that cannot be read, or no match at all.
pub fn expand(pattern: &OsStr) -> Result<Vec<PathBuf>, Error> {
    let shown = display_bytes(pattern.as_bytes());
    let bytes = pattern.as_bytes();
    let absolute = bytes.first() == Some(&b'/');
    let mut parts = Vec::new();
    for component in bytes.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        if component == b"**" {
            parts.push(Part::Any);
        } else if is_glob(OsStr::from_bytes(component)) {
            let text = std::str::from_utf8(component).map_err(|_| Error::BadGlob {
                pattern: shown.clone(),
                reason: "a path component with wildcards must be valid UTF-8".into(),
            })?;
            let glob = GlobBuilder::new(text)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| Error::BadGlob {
                    pattern: shown.clone(),
                    reason: e.kind().to_string(),
                })?;
            parts.push(Part::Pattern {
                matcher: glob.compile_matcher(),
                dot: component.first() == Some(&b'.'),
            });
        } else {
            parts.push(Part::Literal(OsString::from_vec(component.to_vec())));
        }
    }
    let start = if absolute {
        PathBuf::from("/")
    } else {
        PathBuf::new()
    };
    let mut found = Vec::new();
    walk(&start, &parts, &mut found)?;
    if found.is_empty() {
        return Err(Error::NoMatch { pattern: shown });
    }
    found.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
    found.dedup();
    Ok(found)
}

fn walk(base: &Path, parts: &[Part], found: &mut Vec<PathBuf>) -> Result<(), Error> {
    let Some((part, rest)) = parts.split_first() else {
        if !base.as_os_str().is_empty() {
            found.push(base.to_path_buf());
        }
        return Ok(());
    };
    match part {
        Part::Literal(name) => {
            let next = base.join(name);
            // A literal component must exist (as anything, for the last one;
            // as a directory before more components).
            if std::fs::symlink_metadata(&next).is_ok() {
                walk(&next, rest, found)?;
            }
        }
        Part::Pattern { matcher, dot } => {
            for name in entries(base)? {
                let hidden = name.as_bytes().first() == Some(&b'.');
                if hidden && !dot {
                    continue;
                }
                if matcher.is_match(Path::new(&name)) {
                    let next = base.join(&name);
                    if rest.is_empty() || next.is_dir() {
                        walk(&next, rest, found)?;
                    }
                }
            }
        }
        Part::Any => {
            walk(base, rest, found)?;
            for name in entries(base)? {
                if name.as_bytes().first() == Some(&b'.') {
                    continue;
                }
                let next = base.join(&name);
                // Not through symbolic links: they can make cycles.
                let is_real_dir = std::fs::symlink_metadata(&next).is_ok_and(|m| m.is_dir());
                if is_real_dir {
                    walk(&next, parts, found)?;
                }
            }
        }
    }
    Ok(())
}

/// The names in a directory (none when `dir` is not one).
fn entries(dir: &Path) -> Result<Vec<OsString>, Error> {
    let shown = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if !shown.is_dir() {
        return Ok(Vec::new());
    }
    let reader = std::fs::read_dir(shown)
        .map_err(|e| Error::io(display_bytes(shown.as_os_str().as_bytes()), e))?;
    let mut names = Vec::new();
    for entry in reader {
        let entry = entry.map_err(|e| Error::io(display_bytes(shown.as_os_str().as_bytes()), e))?;
        names.push(entry.file_name());
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(pattern: &Path, root: &Path) -> Vec<String> {
        expand(pattern.as_os_str())
            .unwrap()
            .iter()
            .map(|p| {
                let rel = p.strip_prefix(root).unwrap();
                display_bytes(rel.as_os_str().as_bytes())
            })
            .collect()
    }

    #[test]
    fn globs_expand_in_byte_order_and_skip_dotfiles() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.txt", "a.txt", "B.txt", ".hidden.txt", "c.log"] {
            std::fs::write(dir.path().join(name), "x\n").unwrap();
        }
        assert_eq!(
            names(&dir.path().join("*.txt"), dir.path()),
            ["B.txt", "a.txt", "b.txt"]
        );
        assert_eq!(
            names(&dir.path().join(".*.txt"), dir.path()),
            [".hidden.txt"]
        );
        assert_eq!(
            names(&dir.path().join("[ab].txt"), dir.path()),
            ["a.txt", "b.txt"]
        );
    }

    #[test]
    fn names_that_are_not_utf8_match_and_print_escaped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "x\n").unwrap();
        let odd = OsStr::from_bytes(b"\xff\nz.txt");
        std::fs::write(dir.path().join(odd), "x\n").unwrap();
        assert_eq!(
            names(&dir.path().join("*.txt"), dir.path()),
            ["a.txt", "\\xff\\nz.txt"]
        );
    }

    #[test]
    fn double_star_descends_and_nothing_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("x/y")).unwrap();
        std::fs::write(dir.path().join("top.log"), "").unwrap();
        std::fs::write(dir.path().join("x/y/deep.log"), "").unwrap();
        std::fs::write(dir.path().join("x/mid.txt"), "").unwrap();
        assert_eq!(
            names(&dir.path().join("**/*.log"), dir.path()),
            ["top.log", "x/y/deep.log"]
        );
        assert_eq!(
            names(&dir.path().join("*/*.txt"), dir.path()),
            ["x/mid.txt"]
        );
        let err = expand(dir.path().join("*.none").as_os_str()).unwrap_err();
        assert!(matches!(err, Error::NoMatch { .. }), "{err}");
    }
}
