mod containerfile;
mod digest;
mod image;
mod layer;
mod paths;
fn main() {}
