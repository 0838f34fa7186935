//! Run use cases that are not HTTP: starting a run (Play).

pub mod play;
