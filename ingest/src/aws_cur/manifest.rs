//! CUR delivery manifests: which files make up one assembly, and which assembly of a
//! billing period is current.
//!
//! Layout on S3 (and in a local mirror of it):
//! `<prefix>/<report>/<YYYYMMDD-YYYYMMDD>/<report>-Manifest.json` names the current
//! assembly, and `<...>/<assemblyId>/<report>-Manifest.json` sits beside that assembly's
//! `<report>-<n>.csv.gz` files. `reportKeys` are bucket keys; locally they are resolved
//! against the manifest's folder and its ancestors.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::IngestError;
use crate::read::{FileCtx, Options, ingest_path};
use crate::report::{Emit, FileReport};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    #[serde(alias = "executionId")]
    assembly_id: String,
    #[serde(default)]
    report_name: Option<String>,
    #[serde(default)]
    billing_period: Option<Period>,
    #[serde(default, alias = "dataFiles")]
    report_keys: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Period {
    start: String,
}

impl Manifest {
    fn delivery(&self) -> String {
        format!(
            "aws-cur:{}/{}/{}",
            self.report_name.as_deref().unwrap_or("report"),
            self.billing_period
                .as_ref()
                .map(|p| p.start.as_str())
                .unwrap_or("?"),
            self.assembly_id
        )
    }
}

/// Where a listed key is on disk: beside the manifest, or under one of its ancestors.
fn resolve(manifest_path: &Path, key: &str) -> Option<PathBuf> {
    let key = key
        .strip_prefix("s3://")
        .map(|k| k.split_once('/').map(|(_, rest)| rest).unwrap_or(k))
        .unwrap_or(key)
        .trim_start_matches('/');
    let dir = manifest_path.parent()?;
    if let Some(name) = Path::new(key).file_name() {
        let beside = dir.join(name);
        if beside.is_file() {
            return Some(beside);
        }
    }
    let mut parts: Vec<&str> = key.split('/').collect();
    // Try the key, then ever shorter suffixes of it, under each ancestor of the manifest.
    while !parts.is_empty() {
        let rel: PathBuf = parts.iter().collect();
        for ancestor in dir.ancestors() {
            let candidate = ancestor.join(&rel);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
        parts.remove(0);
    }
    None
}

/// Reads the files a manifest lists, all under the manifest's delivery identity.
pub fn read_manifest(
    mut input: Box<dyn BufRead>,
    ctx: &FileCtx,
    opts: &Options,
    emit: &mut dyn Emit,
) -> Result<FileReport, IngestError> {
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .map_err(|source| IngestError::Io {
            path: ctx.path.clone(),
            source,
        })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| IngestError::Unreadable {
        path: ctx.path.clone(),
        reason: format!("not a CUR manifest: {e}"),
    })?;
    let mut report = FileReport::new(&ctx.file);
    report.format = format!("AWS CUR manifest (assembly {})", manifest.assembly_id);
    let mut sub = opts.clone();
    sub.source = Some(manifest.delivery());
    // Every listed file must be there before any is read: the assembly replaces the whole
    // period, so delivering part of it would drop the missing files' costs.
    let mut paths = Vec::with_capacity(manifest.report_keys.len());
    let mut missing = Vec::new();
    for key in &manifest.report_keys {
        match resolve(&ctx.path, key) {
            Some(path) => paths.push((key, path)),
            None => missing.push(key.as_str()),
        }
    }
    if !missing.is_empty() {
        return Err(IngestError::Unreadable {
            path: ctx.path.clone(),
            reason: format!(
                "AWS CUR manifest of assembly {}: listed report file(s) {} not found beside \
                 the manifest or under its folders; none of the assembly is read, since a \
                 part of it would replace the whole billing period",
                manifest.assembly_id,
                missing.join(", ")
            ),
        });
    }
    // A listed file that cannot be read fails the whole assembly, for the same reason; the
    // caller leaves out what the files before it gave.
    for (key, path) in paths {
        let file_report = ingest_path(&path, &sub, emit).map_err(|e| IngestError::Unreadable {
            path: ctx.path.clone(),
            reason: format!(
                "AWS CUR manifest of assembly {}: listed report file {key}: {e}",
                manifest.assembly_id
            ),
        })?;
        report.absorb(file_report);
    }
    Ok(report)
}

fn parse_manifest(path: &Path) -> Option<Manifest> {
    if path.extension().and_then(|e| e.to_str()) != Some("json") {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// `20240301-20240401`: the folder of a billing period, where the period-level manifest is.
fn is_period_folder(dir: &Path) -> bool {
    dir.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        n.len() == 17
            && n.as_bytes()[8] == b'-'
            && n.bytes().filter(u8::is_ascii_digit).count() == 16
    })
}

/// Takes the files a manifest in `files` will read out of `files`, keeps one manifest per
/// current assembly, and drops superseded assemblies of a period when its period-level
/// manifest says which one is current. Returns a note for each thing left out.
pub fn leave_to_manifests(files: &mut Vec<PathBuf>) -> Vec<String> {
    let manifests: Vec<(PathBuf, Manifest)> = files
        .iter()
        .filter_map(|p| parse_manifest(p).map(|m| (p.clone(), m)))
        .collect();
    if manifests.is_empty() {
        return Vec::new();
    }
    // Per (report, period): the assembly the period-level manifest names, if any.
    let mut current: BTreeMap<(Option<String>, Option<String>), String> = BTreeMap::new();
    for (path, m) in &manifests {
        if path.parent().is_some_and(is_period_folder) {
            current.insert(
                (
                    m.report_name.clone(),
                    m.billing_period.as_ref().map(|p| p.start.clone()),
                ),
                m.assembly_id.clone(),
            );
        }
    }
    let mut notes = Vec::new();
    let mut drop: BTreeSet<PathBuf> = BTreeSet::new();
    let mut kept_assemblies: BTreeSet<String> = BTreeSet::new();
    // The folders holding an assembly's listed files, with the assembly.
    let mut part_folders: BTreeMap<PathBuf, String> = BTreeMap::new();
    for (path, m) in &manifests {
        let group = (
            m.report_name.clone(),
            m.billing_period.as_ref().map(|p| p.start.clone()),
        );
        let listed: Vec<PathBuf> = m
            .report_keys
            .iter()
            .filter_map(|k| resolve(path, k))
            .collect();
        for f in &listed {
            if let Some(dir) = f.parent() {
                part_folders
                    .entry(dir.to_path_buf())
                    .or_insert_with(|| m.assembly_id.clone());
            }
        }
        drop.extend(listed.iter().cloned());
        let superseded = current.get(&group).is_some_and(|cur| *cur != m.assembly_id);
        if superseded {
            drop.insert(path.clone());
            notes.push(format!(
                "{}: assembly {} is superseded by {} for the same billing period; its {} file(s) are not read",
                path.display(),
                m.assembly_id,
                current.get(&group).map(String::as_str).unwrap_or("?"),
                listed.len()
            ));
        } else if !kept_assemblies.insert(m.assembly_id.clone()) {
            // The period-level and the assembly-level manifest list the same files.
            drop.insert(path.clone());
        }
    }
    // A file beside an assembly's parts that no manifest lists (a copy of a part under
    // another name, a stale part of an earlier export) is no part of the assembly: read
    // with it, it would add to the period the assembly replaces.
    let is_manifest: BTreeSet<&PathBuf> = manifests.iter().map(|(p, _)| p).collect();
    for f in files.iter() {
        if drop.contains(f) || is_manifest.contains(f) {
            continue;
        }
        if let Some(assembly) = f.parent().and_then(|d| part_folders.get(d)) {
            notes.push(format!(
                "{}: not read: it is beside the files of CUR assembly {assembly}, whose \
                 manifest does not list it (an assembly is what its manifest lists)",
                f.display()
            ));
            drop.insert(f.clone());
        }
    }
    files.retain(|f| !drop.contains(f));
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_folders() {
        assert!(is_period_folder(Path::new("/r/report/20240301-20240401")));
        assert!(!is_period_folder(Path::new(
            "/r/report/16e57707-f9e3-49be-8be6-b84e684b5194"
        )));
    }
}
