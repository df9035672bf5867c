//! The PDF renderer's one error type, and the errors it is made from.

/// Why a PDF could not be made.
#[derive(Debug)]
pub struct PdfError(pub String);

impl std::fmt::Display for PdfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PdfError {}

impl From<genpdf::error::Error> for PdfError {
    fn from(e: genpdf::error::Error) -> PdfError {
        PdfError(format!("pdf rendering failed: {e}"))
    }
}

impl From<crate::subset::FontError> for PdfError {
    fn from(e: crate::subset::FontError) -> PdfError {
        PdfError(format!("font: {e}"))
    }
}
