//! The driver: a full link as a flat list of passes, each borrowing what
//! the ones before it returned, so data flows one way:
//!
//! map inputs → parse (parallel) → resolve (pulling archive members,
//! allocating commons) → plan (synthetic scan, sections, addresses) →
//! write atoms and apply relocations (parallel) → synthetic sections →
//! LINKEDIT → header, UUID, signature → incremental state → commit.
//!
//! `-incremental` first tries an update of the previous output
//! ([`crate::incremental::update`]) and links in full when it cannot.

use crate::error::{LinkError, Result};
use crate::input;
use crate::options::Options;
use crate::output;
use crate::relocate::Resolved;
use crate::symbols::SymId;
use crate::synthetic::ImportSlots;
use crate::timing::{Phase, Timer};
use crate::write;
use std::path::PathBuf;
use std::time::Instant;

/// Figures a link reports under `-v` / `-print_statistics`.
#[derive(Debug, Default)]
pub struct Stats {
    pub objects: usize,
    pub atoms: usize,
    pub relocs: usize,
    pub output_size: u64,
    pub phases: Vec<Phase>,
    /// For `-incremental`: what this run did and why (for `-v`).
    pub incremental: Option<String>,
}

/// Links according to `opts`; writes the output file atomically.
pub fn link(opts: &Options) -> Result<Stats> {
    for w in &opts.parse_warnings {
        opts.warn(w)?;
    }
    match opts.threads {
        // `--threads N`: the parallel passes run on a pool of N threads.
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| LinkError::usage(format!("--threads {n}: cannot start threads: {e}")))?
            .install(|| link_inputs(opts)),
        None => link_inputs(opts),
    }
}

fn link_inputs(opts: &Options) -> Result<Stats> {
    let resolved = input::input_paths(opts)?;
    if opts.trace_inputs {
        // `-t`: each input as it is loaded (archive members follow as
        // resolution pulls them in), on stdout as ld64 prints them.
        for (p, _) in &resolved {
            println!("{}", p.display());
        }
    }
    let stats = if opts.incremental {
        incremental_link(opts, &resolved)?
    } else {
        full_link(opts, &resolved, None)?
    };
    if let Some(path) = &opts.dependency_info {
        write_dependency_info(path, opts, &resolved)?;
    }
    Ok(stats)
}

/// `-dependency_info FILE`: ld64's binary record list, each record an
/// opcode byte and a NUL-terminated string: 0x00 the linker's version,
/// 0x10 an input file, 0x11 a file looked for and not found, 0x40 the
/// output.
fn write_dependency_info(
    path: &std::path::Path,
    opts: &Options,
    inputs: &[(PathBuf, bool)],
) -> Result<()> {
    let mut out = Vec::new();
    let mut record = |op: u8, s: &str| {
        out.push(op);
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    };
    record(0x00, &format!("machlink-{}", crate::VERSION));
    let mut files: Vec<String> = inputs
        .iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    for f in [&opts.exported_symbols_list, &opts.unexported_symbols_list]
        .into_iter()
        .flatten()
    {
        files.push(f.display().to_string());
    }
    files.sort();
    files.dedup();
    for f in &files {
        record(0x10, f);
    }
    record(0x40, &opts.output.display().to_string());
    output::write_named(path, &out).map_err(|e| {
        LinkError::file(
            path.display(),
            format!("cannot write -dependency_info: {e}"),
        )
    })
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
    if opts.map.is_some() {
        // A link map describes a whole fresh layout; an update (or a run
        // that changes nothing) would leave the previous one describing
        // an image that no longer is. Every run with -map links in full,
        // so the map always matches the output, and keeps no state (a
        // server's session for the output is stale after it).
        crate::incremental::resident::forget(&opts.output);
        let mut stats = full_link(opts, resolved, None)?;
        stats.incremental = Some(
            "full link: -map asks for a link map, which only a full link writes (no \
             incremental state kept)"
                .into(),
        );
        return Ok(stats);
    }
    let recovery = journal::recover(&opts.output).map_err(|e| {
        LinkError::file(
            opts.output.display(),
            format!("cannot recover an interrupted update: {e}"),
        )
    })?;
    let args = args_hash(opts);
    let (recovered, discarded) = match &recovery {
        Recovery::None => (None, None),
        Recovery::Finished(what) => (Some(what.clone()), None),
        Recovery::Discarded(why) => (None, Some(why.clone())),
    };
    if !matches!(recovery, Recovery::None) {
        // The journal rewrote the output and the delta: what a server
        // kept of them is stale.
        crate::incremental::resident::forget(&opts.output);
    }
    let session = match discarded {
        Some(why) => Err(why),
        // A resident server's session for this output, if its files are
        // the ones it was read from; else the state's files, opened.
        // (One kept for another target is opened again, so that the run
        // says why it cannot be used, as a process would.)
        None => match crate::incremental::resident::take(&opts.output)
            .filter(|kept| kept.base.meta.cpu_type == opts.target().cpu_type())
        {
            Some(kept) => Ok(kept),
            None => Session::open(&opts.output, opts.target()),
        },
    };
    let mut recovered = recovered;
    if let Ok(session) = &session {
        if let Some(revived) = session.revive_output(&opts.output) {
            recovered = Some(match recovered {
                Some(r) => format!("{r}; {revived}"),
                None => revived,
            });
        }
    }
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
    // The run's first steps, for -print_statistics: opening the state
    // (recovery included), and looking at every input for changes.
    let opened = start.elapsed();
    let first_phases = |looked: std::time::Duration| {
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        vec![
            crate::timing::Phase {
                name: "open state",
                depth: 0,
                ms: ms(opened),
            },
            crate::timing::Phase {
                name: "find changes",
                depth: 0,
                ms: ms(looked),
            },
        ]
    };
    let reason = match session {
        Err(why) => why,
        Ok(mut session) => match session.change(args, resolved) {
            Change::Nothing => {
                let phases = first_phases(start.elapsed() - opened);
                // Touched but unchanged files keep their new stamps, and
                // inputs found at a new path their new one. Only a saving
                // of work: if the delta cannot be written (a read-only
                // directory), the next run hashes them again.
                if session.refresh_stamps() | !session.moved.is_empty() {
                    let _ = session.save_delta(&opts.output);
                }
                crate::incremental::resident::release(&opts.output, session);
                let mut stats = done(format!(
                    "nothing changed in {} inputs; output left as it is",
                    resolved.len()
                ))?;
                stats.phases = phases;
                return Ok(stats);
            }
            Change::Inputs(changed) => match update::run(opts, &mut session, &changed)? {
                update::Outcome::Updated(mut s) => {
                    crate::incremental::resident::release(&opts.output, session);
                    let mut phases =
                        first_phases(s.started.duration_since(start).saturating_sub(opened));
                    phases.append(&mut s.phases);
                    let mut stats = done(format!(
                        "updated {} object(s): {} atoms in place, {} moved, {} added, {} removed; \
                         {} trampolines written; {}{} new imports; {} bytes in {} patches{}, \
                         written {}{}; {:.2} ms",
                        s.objects,
                        s.in_place,
                        s.moved,
                        s.added,
                        s.removed,
                        s.trampolines,
                        match s.moved_between {
                            0 => String::new(),
                            n => format!("{n} definitions moved between objects; "),
                        },
                        s.imports,
                        s.bytes,
                        s.patches,
                        if s.symbols_rewritten {
                            ", the symbol tables rewritten"
                        } else {
                            ""
                        },
                        s.write_path.describe(),
                        if s.resolved_again {
                            "; symbols resolved as the last update found them"
                        } else {
                            ""
                        },
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
    let mut stats = full_link(opts, resolved, Some(args))?;
    let reason = match stats.incremental.take() {
        // The full link could not keep a state either (thunks).
        Some(why) => format!("{reason}; {why}"),
        None => reason,
    };
    // Said once, by the full link that records the state (updates keep
    // what it kept): -dead_strip removed nothing (see
    // `dead_strip::keep_all_for_incremental`).
    let reason = if opts.dead_strip && !reason.contains("-dead_strip") {
        format!(
            "{reason}; -dead_strip keeps every atom under -incremental (an edit can make \
             dead code live again)"
        )
    } else {
        reason
    };
    stats.incremental = Some(match recovered {
        Some(r) => format!("{r}; full link: {reason}"),
        None => format!("full link: {reason}"),
    });
    Ok(stats)
}

/// Links everything from scratch; `paths` are the inputs as
/// [`input::input_paths`] resolved them. With `record` (the options hash
/// of an incremental link) it also writes the incremental state: under a
/// temporary name first, so that a failure (a full disk) leaves the old
/// output and its state as they were; then the old state goes, the output
/// moves into place and the state follows.
fn full_link(opts: &Options, paths: &[(PathBuf, bool)], record: Option<u64>) -> Result<Stats> {
    let arch = opts.target();
    let mut timer = Timer::new();
    let files = input::map_inputs(paths)?;
    timer.lap("map inputs");
    let mut inputs = input::parse_inputs(&files, opts)?;
    timer.lap("parse");
    // Every input's content hash, for the next run's change detection,
    // taken beside the link on a core it leaves idle (see `fingerprints`).
    let record = record.map(|args| {
        (
            args,
            crate::incremental::fingerprints::Hasher::start(&files),
        )
    });
    let mut symtab = crate::resolve::resolve(opts, &mut inputs)?;
    crate::dylib_use::apply(opts, paths, &mut inputs, &mut symtab)?;
    timer.lap("resolve");
    if opts.trace_inputs {
        for o in inputs.objects.iter().filter(|o| o.member) {
            println!("{}", o.name);
        }
    }
    let mut stats = Stats {
        objects: inputs.objects.len(),
        atoms: inputs.objects.iter().map(|o| o.atoms.len()).sum(),
        relocs: inputs.objects.iter().map(|o| o.relocs.len()).sum(),
        ..Default::default()
    };
    let mut plan = write::plan(opts, &inputs, &symtab)?;
    let unwind = plan.unwind.take();
    timer.lap("layout");
    let mut record = record;
    if record.is_some() && !plan.thunks.is_empty() {
        // An update moves and patches functions without knowing about
        // islands, so an image with thunks keeps no incremental state:
        // every later run links it in full. Kept so on purpose: thunks
        // are only needed when calls span more than a branch's reach
        // (128 MiB of arm64 code), where a full link is seconds anyway;
        // below that, an update never needs one (a code section's reserve
        // stays in reach, see `Headroom::code_reserve`), and a slot whose
        // moved body is out of `b` reach takes the long trampoline
        // (`adrp/add/br x16`, no island needed). A moved body whose own
        // call cannot reach falls back with that call as its reason.
        record = None;
        stats.incremental = Some(format!(
            "the code exceeds the ±{} bytes a branch reaches and needs {} thunks, which \
             incremental updates do not maintain (no incremental state kept)",
            arch.branch_reach(),
            plan.thunks.count()
        ));
    }
    if record.is_some() {
        if let Some(why) = inputs.dead_strip_blocker.take() {
            record = None;
            stats.incremental = Some(why);
        }
    }
    if let Some(map) = &opts.map {
        crate::map::write_map(
            map,
            &opts.output,
            arch,
            &inputs,
            &symtab,
            &plan.synth,
            &plan.layout,
        )?;
    }
    timer.begin("write");
    let (linkedit_off, _) = plan.layout.linkedit_start();
    let mut file = output::OutputFile::create(&opts.output, linkedit_off)?;
    let res = Resolved::new(arch, &plan.layout, &plan.synth).with_thunks(&plan.thunks);
    write::fill_code_gaps(arch, &plan.layout, file.bytes());
    // The record's look at the relocations beside the atoms' writing, so
    // that they go as in a plain link (see `record::Scan`).
    let (fixups, scan) = rayon::join(
        || write::write_atoms(file.bytes(), &inputs.objects, &symtab, &res),
        || {
            let scan = crate::incremental::record::scan;
            record
                .as_ref()
                .map(|_| scan(&inputs.objects, &symtab, &plan.layout))
        },
    );
    let mut fixups = fixups?;
    crate::thunks::write_thunks(&plan.thunks, &inputs.objects, &symtab, &res, file.bytes())
        .map_err(|e| LinkError::usage(format!("{}: {e}", opts.output.display())))?;
    timer.lap("atoms");
    let mut imports =
        write::ImportTable::new(&symtab, opts.flat_namespace, opts.use_chained_fixups());
    imports.adopt_binds(&mut fixups);
    let synthetic = write::write_synthetic(
        opts,
        &inputs,
        &symtab,
        &plan.synth,
        unwind,
        &res,
        file.bytes(),
        &mut fixups,
        &mut imports,
    )?;
    timer.lap("synthetic");
    // Done with the inputs' contents (the record reads of them only the
    // names and literals, mapped again).
    inputs.release_contents(&files);
    let entry = write::entry_point(opts, &symtab, &res)?;
    // The synthetic entries of the symbols that have any (few: imports).
    let slots: rustc_hash::FxHashMap<SymId, ImportSlots> = match record {
        Some(_) => {
            let synth = &plan.synth;
            [&synth.stubs, &synth.got, &synth.thread_ptrs]
                .iter()
                .flat_map(|t| t.entries.iter())
                .map(|&id| (id, res.slots(id)))
                .collect()
        }
        None => Default::default(),
    };
    // The incremental state's body is made and written while LINKEDIT is
    // (mostly sequential work, which leaves cores free), and
    // __TEXT, final now, goes into the file (see `write::text_ahead`).
    let (linkedit, begun, text_written, hashed) = {
        let (image, ahead) = file.split();
        let ahead_range = if ahead.writes() {
            write::text_ahead(&plan, &fixups)
        } else {
            0..0
        };
        let (text, rest) = image.split_at_mut(ahead_range.end);
        let slots_bytes = crate::linkedit::fixups::SlotBytes {
            bytes: rest,
            start: ahead_range.end,
        };
        let text: &[u8] = text;
        let hashing =
            write::AheadHashing::new(text, ahead_range.clone(), write::HashAhead::of(opts, &plan));
        let (linkedit, begun, written) = std::thread::scope(|scope| {
            let writer = (!ahead_range.is_empty())
                .then(|| {
                    let piece = (&text[ahead_range.clone()], ahead_range.start as u64);
                    write::write_ahead(scope, &ahead, vec![piece], Some(&hashing))
                })
                .flatten();
            let (linkedit, begun) = rayon::join(
                || {
                    write::build_linkedit(
                        opts,
                        &plan,
                        &inputs.objects,
                        &symtab,
                        &fixups,
                        &imports.list,
                        &synthetic.lazy_binds,
                        slots_bytes,
                        &mut timer,
                    )
                },
                || {
                    scan.map(|scan| {
                        let image = crate::incremental::record::Image {
                            layout: &plan.layout,
                            fixups: &fixups,
                            imports: &imports.list,
                            unwind_rows: &synthetic.unwind_rows,
                            arch,
                            slots: &slots,
                        };
                        let prepare = crate::incremental::record::prepare;
                        prepare(&opts.output, &inputs.objects, &symtab, &image, scan)
                            .and_then(|prepared| prepared.begin())
                    })
                },
            );
            // What the writer has not hashed yet, on both cores.
            rayon::join(|| hashing.work(), || hashing.work());
            let written = match writer {
                Some(w) => w
                    .join()
                    .expect("the output's writer panicked")
                    .map(|()| ahead_range),
                None => Ok(0..0),
            };
            (linkedit, begun, written)
        });
        (linkedit, begun, written, hashing.finish())
    };
    let linkedit = linkedit?;
    let text_written = text_written
        .map_err(|e| LinkError::file(opts.output.display(), format!("cannot write output: {e}")))?;
    let state_error = |e: std::io::Error| {
        LinkError::file(
            opts.output.display(),
            format!("cannot write incremental state: {e}"),
        )
    };
    let begun = begun.transpose().map_err(state_error)?;
    if begun.is_some() {
        timer.lap("record");
    }
    file.resize(linkedit_off + linkedit.size + linkedit.signature_size)?;
    let (image, ahead) = file.split();
    let uuid_offset = write::finish_image(
        opts,
        &mut plan,
        entry,
        &linkedit,
        image,
        &ahead,
        (text_written, &hashed),
    )?;
    timer.lap("header+signature");
    timer.end();
    let state = match record.zip(begun) {
        Some(((args, hasher), begun)) if file.replaces() => {
            let uuid: [u8; 16] = file.bytes()[uuid_offset..uuid_offset + 16]
                .try_into()
                .expect("16 bytes");
            let facts = write::image_facts(
                plan,
                write::Written {
                    unwind_rows: synthetic.unwind_rows,
                    uuid_offset,
                },
                &linkedit,
            );
            // The rest of the output's write (a system call, on one core)
            // beside the inputs' last hashes.
            let (sealed, fingerprints) = rayon::join(|| file.seal(), || hasher.finish());
            let (size, mtime_ns) = sealed?;
            timer.lap("write output");
            let output = crate::incremental::Fingerprint {
                path: opts.output.clone(),
                size,
                mtime_ns,
                hash: 0,
                // (An output's identity is its stamp and UUID.)
                inode: (0, 0),
            };
            let pending = crate::incremental::record::write_state(
                begun,
                output,
                uuid,
                args,
                fingerprints,
                &inputs.objects,
                &facts,
                opts.use_chained_fixups(),
            )
            .map_err(state_error)?;
            timer.lap("incremental state");
            // The old state must not outlive the output it describes.
            crate::incremental::forget(&opts.output)?;
            Some(pending)
        }
        Some(_) => None,
        None => {
            if opts.incremental && file.replaces() {
                // No state for this output: an old one must not outlive
                // the output it described.
                crate::incremental::forget(&opts.output)?;
            }
            None
        }
    };
    stats.output_size = file.commit()?;
    if let Some(pending) = state {
        pending.commit().map_err(|e| {
            LinkError::file(
                opts.output.display(),
                format!("cannot write incremental state: {e}"),
            )
        })?;
        crate::incremental::keep_image(&opts.output);
    }
    timer.lap("commit");
    stats.phases = timer.finish();
    // The tables, then the mappings they borrow from (see teardown).
    crate::teardown::discard((fixups, imports, linkedit, slots));
    crate::teardown::discard(symtab);
    crate::teardown::discard(inputs);
    crate::teardown::discard(files);
    Ok(stats)
}
