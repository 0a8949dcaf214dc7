//! The bag pipeline language and its records: tokens (`lex`), the tree
//! (`ast`), the grammar (`parse`), the kind check (`check`), the canonical
//! text (`display`), diagnostics (`diag`); records (`item`, `path`), the
//! one projection evaluator (`project`), and the element-wise stages as
//! they run (`eval`, with `pipe` commands in `program`).

pub(crate) mod ast;
mod check;
pub(crate) mod diag;
mod display;
pub(crate) mod eval;
pub(crate) mod item;
mod lex;
pub(crate) mod parse;
pub(crate) mod path;
pub(crate) mod program;
pub(crate) mod project;
