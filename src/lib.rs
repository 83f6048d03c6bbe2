//! ctxsbom: contextual SBOMs for multi-stage container builds. See ARCHITECTURE.md for the map.

pub mod build;
pub mod catalog;
pub mod cli;
pub mod containerfile;
pub mod digest;
pub mod image;
pub mod layer;
pub mod output;
pub mod paths;
pub mod progress;
pub mod provenance;
pub mod scan;
