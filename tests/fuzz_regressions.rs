//! Every input a fuzz target ever failed on (kept in
//! `fuzz/regressions/<target>/`), and every seed it starts from
//! (`fuzz/seeds/<target>/`, written by `scripts/fuzz-seeds`), replayed
//! through the same check as the target, so that a fixed problem stays
//! fixed without the fuzzer, and the seeds hold what the checks hold.

use std::path::Path;

/// A fuzz target's name and its check.
type Check = (&'static str, fn(&[u8]));

#[test]
fn inputs_the_fuzzers_found_still_pass() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let checks: [Check; 5] = [
        ("block_cut", rbag::fuzzing::block_cut),
        ("pipeline_parse", rbag::fuzzing::pipeline_parse),
        ("json_line", rbag::fuzzing::json_line),
        ("decompress", rbag::fuzzing::decompress),
        ("merge_input", rbag::fuzzing::merge_input),
    ];
    let mut replayed = 0;
    let mut seeds = 0;
    for ((target, check), folder) in checks
        .iter()
        .flat_map(|c| [(c, "regressions"), (c, "seeds")])
    {
        let dir = fuzz.join(folder).join(target);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().is_some_and(|n| n != "README.md"))
            .collect();
        entries.sort();
        for path in entries {
            let data = std::fs::read(&path).unwrap();
            let result = std::panic::catch_unwind(|| check(&data));
            assert!(result.is_ok(), "{} fails", path.display());
            replayed += 1;
            seeds += usize::from(folder == "seeds");
        }
    }
    assert!(replayed > 0, "no regression input was replayed");
    assert!(
        seeds >= 5 * 4,
        "every target has seeds (scripts/fuzz-seeds)"
    );
}
