//! The Kubernetes operator (reconciles `Run` resources into one Pod per node).
//! Until it lands, the binary states what it is and exits non-zero so nobody
//! mistakes it for a working controller.

fn main() {
    eprintln!(
        "katalusis-operator {}: not implemented yet; use the API server's local executor",
        env!("CARGO_PKG_VERSION")
    );
    std::process::exit(2);
}
