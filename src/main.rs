mod digest;
mod layer;
mod paths;
fn main() {}
