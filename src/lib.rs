//! scapi
#![forbid(unsafe_code)]

pub mod diagnostic;
pub mod input;
pub mod rules;
pub mod source;
