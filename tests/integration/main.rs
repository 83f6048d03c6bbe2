//! Integration tests: real buildah builds in a private store, scanned by the real binary, outputs
//! checked by the reference validators. One test binary, so the base images are built once.

mod build;
mod common;
mod errors;
mod konflux;
mod packages;
mod provenance;
mod rpm;
mod sources;
mod validate;
