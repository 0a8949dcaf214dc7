//! Golden-file cases: `tests/cmd/*.toml` run the real binary on inputs in
//! `fixtures/` and compare stdout, stderr and the exit code with the sibling
//! `.stdout`/`.stderr` files, which are reviewed like code. The README's
//! console examples are run the same way. Bless changes with
//! `TRYCMD=overwrite cargo test --test integration golden` and review the
//! diff before committing.

#[test]
fn golden_cases() {
    trycmd::TestCases::new()
        .register_bin("rbag", trycmd::cargo::cargo_bin!("rbag"))
        .case("tests/cmd/*.toml")
        .case("README.md");
}
