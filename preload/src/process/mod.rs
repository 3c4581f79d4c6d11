//! The process layer: what this process knows of its session, above the
//! FFI boundary and below the path glue. [`state`]: attaching to the
//! session and the mapping context; [`cache`]: the per-thread and
//! session-wide lookup caches; [`hot`]: the page of statics every process
//! writes, and the exec probe cache; [`log`]: the session log, trace and
//! violation writers; [`vperm`]: the virtual ids and the metadata table;
//! [`overlay`]: real stat results made virtual; [`chroot`]: the
//! process's simulated root.

pub mod cache;
pub mod chroot;
pub mod hot;
pub mod log;
pub mod overlay;
pub mod state;
pub mod vperm;
