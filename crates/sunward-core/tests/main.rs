//! The integration tests of sunward-core, built as one test binary: each
//! module below is one area, and one binary links the engine once instead
//! of once per file (less to link, far less disk).

mod fuzz_yaml;
mod pipeline_schema;
mod validate;
