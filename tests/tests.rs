//! rbag's integration tests: one binary, one module per concern.

mod behavior;
mod determinism;
mod golden;
mod hostile;
mod man;
mod numbers;
mod util;
