//! The committed man pages (`man/*.1`) must be what the clap definitions
//! generate today. Regenerate with:
//!
//!     SNAPSHOTS=overwrite cargo test --test integration man
//!
//! and review the diff.

use std::path::PathBuf;

use crate::util::rbag;

#[test]
fn man_pages_are_current() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("man");
    let overwrite = std::env::var("SNAPSHOTS").is_ok_and(|v| v == "overwrite");
    let mut stale = Vec::new();
    for (name, text) in rbag::generate::man_pages() {
        let path = dir.join(&name);
        if overwrite {
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&text[..]) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "man pages out of date: {stale:?}; regenerate with \
         `SNAPSHOTS=overwrite cargo test --test integration man` and commit the diff"
    );
}

#[test]
fn the_binary_prints_the_same_man_page() {
    let out = rbag().args(["--generate", "man"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let pages = rbag::generate::man_pages();
    assert_eq!(out.stdout, pages[0].1);
}
