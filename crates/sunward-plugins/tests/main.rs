//! The integration tests of sunward-plugins, built as one test binary: each
//! module below is one area, and one binary links the engine once instead
//! of once per file (less to link, far less disk).

mod common;
mod csv_chunks;
mod hostile_files;
mod sinks;
mod sources;
mod sql;
mod stats_reference;
