//! Sunward's reports: a renderer-neutral [`Document`] (headings, paragraphs,
//! key-figure tiles, tables, charts, notes), the publication rules that make
//! a table fit for readers outside the organisation ([`publication`]), and
//! three renderers that turn one document into a self-contained HTML file
//! ([`html`]), an A4 PDF ([`pdf`]) and an editable Word document ([`docx`])
//! with the same text and numbers.
//!
//! Nothing here reads a clock or the environment while rendering: the same
//! document gives byte-identical output.

pub mod chart;
pub mod disclosure;
pub mod document;
pub mod docx;
pub mod html;
mod layout;
pub mod markup;
pub mod names;
pub mod numbers;
pub mod pdf;
pub mod plot;
pub mod publication;
/// The sample reports, for this crate's unit tests, examples and
/// integration tests only (feature `samples`, which the crate's
/// dev-dependency on itself turns on): not part of the public API.
#[cfg(any(test, feature = "samples"))]
pub mod sample;
pub mod subset;

pub use chart::{BarChart, Chart, FunnelPlot, FunnelPoint, FunnelSide, LineChart};
pub use document::{Align, Block, Cell, Column, DocStyle, Document, Lang, List, ListItem, Meta, Span, Table, Tile};
