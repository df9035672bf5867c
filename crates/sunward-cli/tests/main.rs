//! The integration tests of sunward-cli, built as one test binary: each
//! module below is one area, and one binary links the engine once instead
//! of once per file (less to link, far less disk).

mod access;
mod cache;
mod cli;
mod cluster;
mod common;
mod contract;
mod contract_extension;
mod datagen;
mod disclosure;
mod docs_flags;
mod extend;
mod hostile;
mod metrics;
mod own_data;
mod prevention;
mod privacy;
mod provenance;
mod pseudonymise;
mod readme;
mod reports;
mod sample_data;
mod scale;
mod snapshots;
mod targets;
mod workflow;
