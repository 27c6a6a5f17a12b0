//! The full link, phase by phase. Each phase borrows what earlier phases
//! built, so data flows one way:
//!
//! map inputs → parse (parallel) → resolve (pulling archive members) →
//! allocate commons → scan for stubs/GOT → lay out → write atoms and apply
//! relocations (parallel) → LINKEDIT → header → file.

use crate::error::{LinkError, Result};
use crate::input::archive::Archive;
use crate::input::dylib::Dylib;
use crate::input::object::ObjectFile;
use crate::input::{self, FileKind, MappedFile};
use crate::options::Options;
use rayon::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

/// Figures a link reports under `-v` / `-print_statistics`.
#[derive(Debug, Default)]
pub struct Stats {
    pub objects: usize,
    pub atoms: usize,
    pub relocs: usize,
    pub output_size: u64,
    pub phases: Vec<(&'static str, f64)>,
    /// For `-incremental`: what this run did and why (for `-v`).
    pub incremental: Option<String>,
}

pub(crate) struct Timer {
    start: Instant,
    phases: Vec<(&'static str, f64)>,
}

impl Timer {
    pub(crate) fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        self.phases
            .push((name, (now - self.start).as_secs_f64() * 1e3));
        self.start = now;
    }
}

/// Everything parsed from the inputs, borrowing their maps.
pub struct Inputs<'a> {
    pub objects: Vec<ObjectFile<'a>>,
    pub archives: Vec<Archive<'a>>,
    pub dylibs: Vec<Dylib>,
    /// Archives and dylibs in command-line order, for symbol lookup.
    pub(crate) libraries: Vec<Library>,
    /// Archive members already loaded: (archive, member).
    pub(crate) loaded_members: rustc_hash::FxHashSet<(u32, u32)>,
    /// The linker's own object holding `__dyld_private` (classic lazy binding).
    pub dyld_private: Option<u32>,
}

#[derive(Clone, Copy)]
pub(crate) enum Library {
    Archive(u32),
    Dylib(u32),
}

/// Links according to `opts`; writes the output file atomically.
pub fn link(opts: &Options) -> Result<Stats> {
    let resolved = input::input_paths(opts)?;
    if !opts.incremental {
        return full_link(opts, &resolved, None);
    }
    incremental_link(opts, &resolved)
}

/// `-incremental`: update the image in place when the state allows it,
/// else link in full and record a new state.
fn incremental_link(opts: &Options, resolved: &[(PathBuf, bool)]) -> Result<Stats> {
    use crate::incremental::journal::{self, Recovery};
    use crate::incremental::{args_hash, update, Change, Lock, Session};
    let start = Instant::now();
    if let crate::output::OutputTarget::InPlace(what) = crate::output::output_target(&opts.output)?
    {
        // Nothing to update in place, and no state to keep beside it.
        let mut stats = full_link(opts, resolved, None)?;
        stats.incremental = Some(format!(
            "full link: the output is {what}, not a regular file (written into; no \
             incremental state kept)"
        ));
        return Ok(stats);
    }
    let _lock = Lock::acquire(&opts.output)?;
    let recovery = journal::recover(&opts.output).map_err(|e| {
        LinkError::file(
            opts.output.display(),
            format!("cannot recover an interrupted update: {e}"),
        )
    })?;
    let paths: Vec<PathBuf> = resolved.iter().map(|(p, _)| p.clone()).collect();
    let args = args_hash(opts);
    let (recovered, discarded) = match recovery {
        Recovery::None => (None, None),
        Recovery::Finished(what) => (Some(what), None),
        Recovery::Discarded(why) => (None, Some(why)),
    };
    let done = |what: String| {
        let what = match &recovered {
            Some(r) => format!("{r}; {what}"),
            None => what,
        };
        Ok(Stats {
            incremental: Some(what),
            ..Default::default()
        })
    };
    let session = match discarded {
        Some(why) => Err(why),
        None => Session::open(&opts.output),
    };
    let reason = match session {
        Err(why) => why,
        Ok(mut session) => match session.change(args, &paths) {
            Change::Nothing => {
                // Touched but unchanged files keep their new stamps. Only a
                // saving of work: if the delta cannot be written (a
                // read-only directory), the next run hashes them again.
                if session.refresh_stamps() {
                    let _ = session.save_delta(&opts.output);
                }
                return done(format!(
                    "nothing changed in {} inputs; output left as it is",
                    paths.len()
                ));
            }
            Change::Inputs(changed) => match update::run(opts, &session, &changed)? {
                update::Outcome::Updated(mut s) => {
                    let phases = std::mem::take(&mut s.phases);
                    let mut stats = done(format!(
                        "updated {} object(s): {} atoms in place, {} moved, {} added, {} removed; \
                         {} trampolines written; {} new imports; {} bytes in {} patches; {:.2} ms",
                        s.objects,
                        s.in_place,
                        s.moved,
                        s.added,
                        s.removed,
                        s.trampolines,
                        s.imports,
                        s.bytes,
                        s.patches,
                        start.elapsed().as_secs_f64() * 1e3
                    ))?;
                    stats.phases = phases;
                    return Ok(stats);
                }
                update::Outcome::Fallback(why) => why,
            },
            Change::Other(why) => why,
        },
    };
    // Every input's content hash, for the next run's change detection.
    let inputs = paths
        .par_iter()
        .map(|p| {
            crate::incremental::Fingerprint::of(p)
                .map_err(|e| LinkError::file(p.display(), format!("cannot fingerprint: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut stats = full_link(opts, resolved, Some((args, inputs)))?;
    stats.incremental = Some(match recovered {
        Some(r) => format!("{r}; full link: {reason}"),
        None => format!("full link: {reason}"),
    });
    Ok(stats)
}

/// Links everything from scratch; `paths` are the inputs as
/// [`input::input_paths`] resolved them. With `record` (the options hash
/// and input fingerprints of an incremental link) it also writes the
/// incremental state: under a temporary name first, so that a failure
/// (a full disk) leaves the old output and its state as they were; then
/// the old state goes, the output moves into place and the state follows.
fn full_link(
    opts: &Options,
    paths: &[(PathBuf, bool)],
    record: Option<(u64, Vec<crate::incremental::Fingerprint>)>,
) -> Result<Stats> {
    let mut timer = Timer {
        start: Instant::now(),
        phases: Vec::new(),
    };
    let files = input::map_inputs(paths)?;
    timer.lap("map inputs");
    let mut inputs = parse_inputs(&files)?;
    timer.lap("parse");
    let symtab = crate::resolve::resolve(opts, &mut inputs)?;
    timer.lap("resolve");
    let mut stats = Stats {
        objects: inputs.objects.len(),
        atoms: inputs.objects.iter().map(|o| o.atoms.len()).sum(),
        relocs: inputs.objects.iter().map(|o| o.relocs.len()).sum(),
        ..Default::default()
    };
    let (mut file, facts) = crate::write::write_image(opts, &inputs, &symtab, &mut timer)?;
    let state = match (record, facts) {
        (Some((args, fingerprints)), Some(facts)) if file.replaces() => {
            let at = facts.uuid_offset as usize;
            let uuid: [u8; 16] = file.bytes()[at..at + 16].try_into().expect("16 bytes");
            let (size, mtime_ns) = file.seal()?;
            let output = crate::incremental::Fingerprint {
                path: opts.output.clone(),
                size,
                mtime_ns,
                hash: 0,
            };
            let pending = crate::incremental::record::write_state(
                output,
                uuid,
                args,
                fingerprints,
                &inputs.objects,
                &symtab,
                &facts,
                opts.use_chained_fixups(),
            )
            .map_err(|e| {
                LinkError::file(
                    opts.output.display(),
                    format!("cannot write incremental state: {e}"),
                )
            })?;
            timer.lap("incremental state");
            // The old state must not outlive the output it describes.
            crate::incremental::forget(&opts.output)?;
            Some(pending)
        }
        _ => None,
    };
    stats.output_size = file.commit()?;
    if let Some(pending) = state {
        pending.commit().map_err(|e| {
            LinkError::file(
                opts.output.display(),
                format!("cannot write incremental state: {e}"),
            )
        })?;
    }
    timer.lap("write file");
    stats.phases = timer.phases;
    Ok(stats)
}

/// Parses every mapped input; objects in parallel.
fn parse_inputs(files: &[MappedFile]) -> Result<Inputs<'_>> {
    let mut kinds = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for f in files {
        let name = f.name();
        match input::thin(&f.map, &name).and_then(|d| input::kind_of(d, &name).map(|k| (d, k))) {
            Ok((data, kind)) => kinds.push((f, data, kind)),
            Err(e) => errors.extend(e.messages),
        }
    }
    if let Some(e) = LinkError::many(errors) {
        return Err(e);
    }
    // Objects and dylib stubs parse in parallel (a large .tbd is a few ms
    // of YAML on its own).
    let (parsed, mut dylibs): (Vec<Result<ObjectFile>>, Vec<Option<Result<Dylib>>>) = rayon::join(
        || {
            kinds
                .par_iter()
                .enumerate()
                .filter(|(_, (_, _, k))| *k == FileKind::Object)
                .map(|(i, (f, data, _))| {
                    parse_object(f, data).map(|mut o| {
                        o.input = i as u32;
                        o
                    })
                })
                .collect()
        },
        || {
            kinds
                .par_iter()
                .map(|(f, data, kind)| match kind {
                    FileKind::Tbd => Some(Dylib::from_tbd(data, f.name(), "x86_64-macos")),
                    FileKind::Dylib => Some(Dylib::from_macho(data, f.name())),
                    _ => None,
                })
                .collect()
        },
    );
    let mut inputs = Inputs {
        objects: Vec::new(),
        archives: Vec::new(),
        dylibs: Vec::new(),
        libraries: Vec::new(),
        loaded_members: Default::default(),
        dyld_private: None,
    };
    let mut errors = Vec::new();
    for r in parsed {
        match r {
            Ok(o) => inputs.objects.push(o),
            Err(e) => errors.extend(e.messages),
        }
    }
    for (i, (f, data, kind)) in kinds.iter().enumerate() {
        let name = f.name();
        let r = match kind {
            FileKind::Object => Ok(()),
            FileKind::Archive => Archive::parse(data, name).map(|a| {
                let idx = inputs.archives.len() as u32;
                if f.force_load {
                    for m in 0..a.members.len() as u32 {
                        inputs.loaded_members.insert((idx, m));
                    }
                }
                inputs.archives.push(a);
                inputs.libraries.push(Library::Archive(idx));
            }),
            FileKind::Tbd | FileKind::Dylib => {
                let parsed = dylibs[i].take().expect("parsed above");
                parsed.map(|d| add_dylib(&mut inputs, d))
            }
        };
        if let Err(e) = r {
            errors.extend(e.messages);
        }
    }
    // Force-loaded archive members are parsed now, in parallel.
    let forced: Vec<(u32, u32)> = {
        let mut v: Vec<_> = inputs.loaded_members.iter().copied().collect();
        v.sort_unstable();
        v
    };
    let members: Vec<Result<ObjectFile>> = forced
        .par_iter()
        .map(|&(a, m)| parse_member(&inputs.archives[a as usize], m))
        .collect();
    for r in members {
        match r {
            Ok(o) => inputs.objects.push(o),
            Err(e) => errors.extend(e.messages),
        }
    }
    match LinkError::many(errors) {
        Some(e) => Err(e),
        None => Ok(inputs),
    }
}

fn add_dylib(inputs: &mut Inputs, d: Dylib) {
    let idx = inputs.dylibs.len() as u32;
    inputs.dylibs.push(d);
    inputs.libraries.push(Library::Dylib(idx));
}

pub(crate) fn parse_member<'a>(ar: &Archive<'a>, member: u32) -> Result<ObjectFile<'a>> {
    let (_, data, mtime) = ar.members[member as usize];
    let name = ar.member_name(member);
    let mut obj = match input::kind_of(data, &name)? {
        FileKind::Object => ObjectFile::parse(data, name)?,
        _ => {
            return Err(LinkError::file(
                name,
                "archive member is not an object file",
            ))
        }
    };
    obj.oso_path = format!("{}({})", absolute(&ar.name), ar.members[member as usize].0);
    obj.mtime = mtime;
    obj.member = true;
    Ok(obj)
}

/// An absolute form of a path, for the debug map.
fn absolute(path: &str) -> String {
    std::path::absolute(path).map_or_else(|_| path.to_string(), |p| p.display().to_string())
}

/// Parses an object named on the command line, noting its path and time.
pub(crate) fn parse_object<'a>(f: &MappedFile, data: &'a [u8]) -> Result<ObjectFile<'a>> {
    let mut obj = ObjectFile::parse(data, f.name())?;
    obj.oso_path = absolute(&f.name());
    obj.mtime = std::fs::metadata(&f.path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    Ok(obj)
}
