//! The README and the reference in `docs/` hold together: every link
//! between them leads to a file that exists and, with a fragment, to one
//! of its headings.

use std::{collections::BTreeSet, fs, path::Path};

use crate::common;

/// A heading's anchor as GitHub makes it: lower case, punctuation other
/// than `-` and `_` dropped, spaces as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut inside_code = false;
    let mut anchors = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            inside_code = !inside_code;
        } else if !inside_code && line.starts_with('#') {
            anchors.insert(anchor(line.trim_start_matches('#')));
        }
    }
    anchors
}

/// `(line, target)` of every inline link `[text](target)` outside code.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut inside_code = false;
    let mut links = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.starts_with("```") {
            inside_code = !inside_code;
            continue;
        }
        if inside_code {
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else { break };
            links.push((number + 1, after[..end].to_string()));
            rest = &after[end..];
        }
    }
    links
}

fn pages() -> Vec<std::path::PathBuf> {
    let root = common::root();
    let mut pages = vec![root.join("README.md")];
    for entry in fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    pages.sort();
    pages
}

#[test]
fn every_link_between_the_readme_and_the_reference_leads_somewhere() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = fs::read_to_string(&page).unwrap();
        let dir = page.parent().unwrap();
        for (line, target) in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let file = if path.is_empty() {
                page.clone()
            } else {
                dir.join(path)
            };
            let shown = format!("{}:{line}: {target}", page.display());
            if !file.exists() {
                broken.push(format!("{shown}: no such file"));
                continue;
            }
            if !fragment.is_empty() {
                let headings = anchors(&fs::read_to_string(&file).unwrap_or_default());
                if !headings.contains(fragment) {
                    broken.push(format!("{shown}: no such heading"));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "broken links:\n  {}",
        broken.join("\n  ")
    );
}

#[test]
fn the_readme_stays_a_front_door() {
    let readme = fs::read_to_string(common::root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= 300,
        "README.md has {lines} lines; the reference belongs in docs/"
    );
    for page in pages()
        .iter()
        .filter(|p| p.parent() != Some(Path::new(&common::root())))
    {
        let name = page.file_name().unwrap().to_string_lossy();
        assert!(
            readme.contains(&format!("(docs/{name})")),
            "the README's reference table links docs/{name}"
        );
    }
}

#[test]
fn anchors_are_made_as_github_makes_them() {
    assert_eq!(anchor(" What `render` produces"), "what-render-produces");
    assert_eq!(anchor("Metrics, health, logs"), "metrics-health-logs");
    assert_eq!(anchor("Backups: the agent"), "backups-the-agent");
    let text = "# Title\n```\n# not a heading\n```\n## Two words\n[a](#two-words) [b](x.md#y)\n";
    assert_eq!(
        anchors(text),
        BTreeSet::from(["title".to_string(), "two-words".to_string()])
    );
    assert_eq!(
        links(text),
        vec![(6, "#two-words".to_string()), (6, "x.md#y".to_string())]
    );
}
