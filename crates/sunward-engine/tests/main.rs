//! The integration tests of sunward-engine, built as one test binary: each
//! module below is one area, and one binary links the engine once instead
//! of once per file (less to link, far less disk).

mod bad_rows;
mod batch_equivalence;
mod equivalence;
mod run;
