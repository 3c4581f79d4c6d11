//! The FFI boundary, the bottom layer: everything that touches C directly.
//! [`hook`]: the hook macro and the boundary every hook body runs in;
//! [`real`]: the real libc functions; [`cstr`]: the caller's memory,
//! read and written without ever faulting; [`sys`]: every raw system call.
//! Nothing here imports the layers above. (The hook macro's text names
//! `process::state` and `path::Op`: it expands in the table, the top
//! layer, where those are below.)

#[macro_use]
pub mod hook;
pub mod cstr;
pub mod real;
pub mod sys;
