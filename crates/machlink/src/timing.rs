//! Phase timings: one nested timer for full links and updates alike,
//! printed as a table by `-print_statistics` (and `--time`).

use std::time::Instant;

/// One timed phase; `depth` 0 is a top-level phase, 1 a sub-phase of the
/// group above it, and so on.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub name: &'static str,
    pub depth: u8,
    pub ms: f64,
}

/// Records phases as they end. A phase runs from the end of the one
/// before it at the same level (or the start of its group) to its
/// [`Timer::lap`], so consecutive laps account for all the time.
pub struct Timer {
    phases: Vec<Phase>,
    /// Open groups: index of their row and when they started.
    open: Vec<(usize, Instant)>,
    last: Instant,
}

impl Default for Timer {
    fn default() -> Self {
        Timer::new()
    }
}

impl Timer {
    pub fn new() -> Timer {
        Timer {
            phases: Vec::new(),
            open: Vec::new(),
            last: Instant::now(),
        }
    }

    /// Ends a phase at the current level.
    pub fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        self.phases.push(Phase {
            name,
            depth: self.open.len() as u8,
            ms: (now - self.last).as_secs_f64() * 1e3,
        });
        self.last = now;
    }

    /// Opens a group of phases; the laps until [`Timer::end`] are its
    /// sub-phases. It starts where the previous phase ended.
    pub fn begin(&mut self, name: &'static str) {
        self.phases.push(Phase {
            name,
            depth: self.open.len() as u8,
            ms: 0.0,
        });
        self.open.push((self.phases.len() - 1, self.last));
    }

    /// Closes the innermost group; time since its last sub-phase is its own.
    pub fn end(&mut self) {
        let now = Instant::now();
        if let Some((row, start)) = self.open.pop() {
            self.phases[row].ms = (now - start).as_secs_f64() * 1e3;
        }
        self.last = now;
    }

    /// The phases recorded, closing any group left open.
    pub fn finish(mut self) -> Vec<Phase> {
        while !self.open.is_empty() {
            self.end();
        }
        self.phases
    }
}

/// The phases as a table: name (sub-phases indented), milliseconds, and
/// percent of the total of the top-level phases.
pub fn table(phases: &[Phase]) -> String {
    let total: f64 = phases.iter().filter(|p| p.depth == 0).map(|p| p.ms).sum();
    let width = phases
        .iter()
        .map(|p| 2 * p.depth as usize + p.name.len())
        .max()
        .unwrap_or(0)
        .max("total".len());
    let mut out = format!("{:<width$}  {:>9}  {:>6}\n", "phase", "ms", "%");
    for p in phases {
        let name = format!("{}{}", "  ".repeat(p.depth as usize), p.name);
        let pct = if total > 0.0 {
            100.0 * p.ms / total
        } else {
            0.0
        };
        out.push_str(&format!("{name:<width$}  {:>9.3}  {pct:>5.1}%\n", p.ms));
    }
    out.push_str(&format!(
        "{:<width$}  {total:>9.3}  {:>5.1}%\n",
        "total", 100.0
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_hold_their_sub_phases_and_the_table_indents_them() {
        let mut t = Timer::new();
        t.lap("parse");
        t.begin("write");
        t.lap("atoms");
        t.lap("linkedit");
        t.end();
        t.lap("commit");
        let phases = t.finish();
        let shape: Vec<(&str, u8)> = phases.iter().map(|p| (p.name, p.depth)).collect();
        assert_eq!(
            shape,
            [
                ("parse", 0),
                ("write", 0),
                ("atoms", 1),
                ("linkedit", 1),
                ("commit", 0)
            ]
        );
        let sub: f64 = phases[2].ms + phases[3].ms;
        assert!(
            phases[1].ms >= sub,
            "a group lasts at least as long as its parts"
        );
        let table = table(&phases);
        assert!(table.contains("\n  atoms "), "{table}");
        assert!(table.lines().last().unwrap().starts_with("total"));
        assert_eq!(table.lines().count(), 7);
    }

    #[test]
    fn an_unclosed_group_is_closed_by_finish() {
        let mut t = Timer::new();
        t.begin("update");
        t.lap("plan");
        let phases = t.finish();
        assert_eq!(phases.len(), 2);
        assert!(phases[0].ms >= phases[1].ms);
        assert!(table(&[]).contains("total"));
    }
}
