//! Tests that name an address off loopback (169.254.169.254, 10.1.2.3, 198.51.100.1 …) run crawlfish and their
//! servers only inside a private network namespace where nothing but loopback is up, so not one packet can leave
//! the machine, even with the address guard missing or broken. The outer test ([`run_inside`]) re-executes this
//! test binary under `unshare -n`, filtered to one ignored inner test, after bringing `lo` up and adding
//! [`ADDRS`] to it (so servers can listen there); the inner test calls [`require_inside`] first and refuses to
//! run anywhere else. Needs root (as the tests run here and in CI); without it the outer test fails, saying so.

use std::process::Command;

/// Set on the re-executed test binary: it is inside the namespace.
const INSIDE: &str = "CRAWLFISH_TEST_IN_NETNS";

/// What the namespace's `lo` gets beside 127.0.0.1/8 and ::1: the metadata endpoint, a plain link-local, a
/// private and two public addresses (documentation ranges), and the IPv6 metadata endpoint.
pub const ADDRS: [&str; 6] = [
    "169.254.169.254/32",
    "169.254.10.10/32",
    "10.1.2.3/32",
    "198.51.100.1/32",
    "198.51.100.2/32",
    "fd00:ec2::254/128",
];

/// Runs the ignored test `inner` (its path without the crate, `net::guard::inside_…`) inside a new network
/// namespace with only loopback up, and fails unless it ran there and passed.
pub fn run_inside(inner: &str) {
    assert!(
        std::env::var_os(INSIDE).is_none(),
        "run_inside called inside the namespace"
    );
    let mut script = String::from("set -e; ip link set lo up");
    for a in ADDRS {
        script += &format!("; ip addr add {a} dev lo");
    }
    script += "; exec \"$0\" --exact \"$1\" --ignored --test-threads 1";
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["-n", "sh", "-c", &script])
        .arg(&exe)
        .arg(inner)
        .env(INSIDE, "1")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot start `unshare -n` ({e}): {inner} names non-loopback addresses and runs only inside a private network namespace")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{inner} failed inside its network namespace, or the namespace could not be made (`unshare -n` and \
         `ip addr add` need root, as in CI); it is never run outside one.\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "{inner} did not run inside the namespace:\n{stdout}"
    );
}

/// The first call of every inner test: panics unless this process is in a namespace whose only interface is
/// loopback (read from `/proc/self/net/dev`, which follows the process's namespace).
pub fn require_inside() {
    assert!(
        std::env::var_os(INSIDE).is_some(),
        "this test names non-loopback addresses: it runs only inside a private network namespace, started by its \
         outer test (run that one, not this with --ignored)"
    );
    let dev = std::fs::read_to_string("/proc/self/net/dev").unwrap();
    let interfaces: Vec<&str> = dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(
        interfaces,
        ["lo"],
        "an interface besides lo: not a private network namespace"
    );
}

/// The test's path inside the binary (`net::guard::name`), from its `module_path!()` and name.
pub fn inner_name(module: &str, name: &str) -> String {
    let path = module.split_once("::").map_or(module, |(_, rest)| rest);
    format!("{path}::{name}")
}
