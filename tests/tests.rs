//! rbag's integration tests: one binary, one module per concern.

mod architecture;
mod behavior;
mod determinism;
mod examples;
mod explain;
mod fuzz_regressions;
mod golden;
mod hostile;
mod language;
mod man;
mod numbers;
mod partials;
mod progress;
mod spill;
mod util;
