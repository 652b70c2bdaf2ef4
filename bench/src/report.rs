//! The figures the bench prints.

use std::fmt;

/// One measured figure, its baseline from the same run, and its target.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Figure {
    /// The number for it (1 to 6).
    pub id: u8,
    /// What is measured.
    pub name: String,
    /// The measured value.
    pub value: f64,
    /// Its unit.
    pub unit: String,
    /// The baseline measured in the same run: (what, value in the same unit).
    pub baseline: Option<(String, f64)>,
    /// The target, as the issue states it.
    pub target: String,
    /// Other measurements of this figure (sizes, latencies, secondary units).
    pub details: Vec<String>,
}

impl Figure {
    /// `value / baseline`, when there is a baseline.
    pub fn ratio(&self) -> Option<f64> {
        self.baseline
            .as_ref()
            .filter(|(_, b)| *b > 0.0)
            .map(|(_, b)| self.value / b)
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {}: {} {}",
            self.id,
            self.name,
            num(self.value),
            self.unit
        )?;
        if let (Some((what, value)), Some(ratio)) = (&self.baseline, self.ratio()) {
            write!(
                f,
                "\n   baseline ({what}): {} {}; ratio {ratio:.2}x",
                num(*value),
                self.unit
            )?;
        }
        write!(f, "\n   target: {}", self.target)?;
        for detail in &self.details {
            write!(f, "\n   {detail}")?;
        }
        Ok(())
    }
}

/// Every figure of one run.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Report {
    /// The figures, in the order they were measured.
    pub figures: Vec<Figure>,
}

impl Report {
    /// The figure numbered `id`, if it was measured.
    pub fn figure(&self, id: u8) -> Option<&Figure> {
        self.figures.iter().find(|f| f.id == id)
    }
}

/// A number with thousands separators, one decimal below 100.
pub(crate) fn num(value: f64) -> String {
    if value.abs() < 100.0 {
        return format!("{value:.1}");
    }
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(num(1234567.4), "1,234,567");
        assert_eq!(num(999.6), "1,000");
        assert_eq!(num(12.345), "12.3");
    }
}
