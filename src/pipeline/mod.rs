//! Bag pipelines (`rbag run`): the language, the records that flow through
//! it, and the element-wise stages.

pub mod eval;
pub mod item;
pub mod parse;
pub mod path;
pub mod program;
