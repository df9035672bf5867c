//! The integration tests of sunward-render, built as one test binary: each
//! module below is one area, and one binary links the engine once instead
//! of once per file (less to link, far less disk).

mod common;
mod docx;
mod funnel_reference;
mod gbt9704;
mod html;
mod official;
mod pdf;
mod typeset;
