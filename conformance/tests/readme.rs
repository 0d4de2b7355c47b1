//! README.md stays true for a new user: it opens with the two set-up commands (the main job and
//! the tests), every link stays inside the repository and names a file or directory that
//! exists, and the quickstart's Python adapter and requirements file are where it says.

use ssb_conformance::workspace_root;

fn readme() -> String {
    std::fs::read_to_string(workspace_root().join("README.md")).unwrap()
}

#[test]
fn opens_with_the_two_set_up_commands() {
    let text = readme();
    let lines: Vec<&str> = text.lines().take(6).collect();
    assert_eq!(lines[0], "# ssb-harness");
    assert_eq!(lines[2], "```sh");
    assert!(
        lines[3].starts_with("cargo run -p ssb-conformance -- check "),
        "{}",
        lines[3]
    );
    assert!(lines[3].contains("# main job"), "{}", lines[3]);
    assert!(
        lines[4].starts_with("SSB_UPSTREAM_VECTORS=../shared/vectors cargo test --workspace "),
        "{}",
        lines[4]
    );
    assert_eq!(lines[5], "```");
}

#[test]
fn links_stay_inside_the_repository_and_exist() {
    let text = readme();
    let root = workspace_root();
    let mut checked = 0;
    // Markdown links: ](target)
    for (i, _) in text.match_indices("](") {
        let rest = &text[i + 2..];
        let target = &rest[..rest.find(')').expect("closed link")];
        assert!(
            !target.contains("://"),
            "README links outside the repository: {target}"
        );
        assert!(
            !target.starts_with(".."),
            "README links outside the repository: {target}"
        );
        if target.starts_with('#') {
            continue;
        }
        let path = target.split('#').next().unwrap();
        assert!(
            root.join(path).exists(),
            "README links to a missing path: {target}"
        );
        checked += 1;
    }
    assert!(checked > 10, "only {checked} links found");
    for p in [
        "conformance/adapters/python/adapter.py",
        "conformance/adapters/python/requirements.txt",
        "LICENSE-MIT",
        "LICENSE-APACHE",
    ] {
        assert!(root.join(p).is_file(), "{p} missing");
        assert!(text.contains(p), "README does not mention {p}");
    }
}
