//! A small, strict parser of the OpenMetrics text format, for tests: the
//! operator's and the API server's tests scrape `/metrics` and parse the
//! answer with it, so a malformed exposition (a sample outside its family,
//! a histogram without `+Inf`, a missing `# EOF`) fails a test rather than
//! a Prometheus scrape in production.

use std::collections::HashSet;

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Info,
    StateSet,
    GaugeHistogram,
    Unknown,
}

impl MetricType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "counter" => Self::Counter,
            "gauge" => Self::Gauge,
            "histogram" => Self::Histogram,
            "summary" => Self::Summary,
            "info" => Self::Info,
            "stateset" => Self::StateSet,
            "gaugehistogram" => Self::GaugeHistogram,
            "unknown" => Self::Unknown,
            _ => return None,
        })
    }

    /// Sample name suffixes a family of this type may use.
    fn suffixes(self) -> &'static [&'static str] {
        match self {
            Self::Counter => &["_total", "_created"],
            Self::Histogram => &["_bucket", "_sum", "_count", "_created"],
            Self::GaugeHistogram => &["_bucket", "_gsum", "_gcount"],
            Self::Summary => &["", "_sum", "_count", "_created"],
            Self::Info => &["_info"],
            Self::Gauge | Self::StateSet | Self::Unknown => &[""],
        }
    }
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    /// The value of label `name`.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A family: `# TYPE`, `# HELP` and its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    pub kind: MetricType,
    pub help: Option<String>,
    pub samples: Vec<Sample>,
}

/// A parsed exposition.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exposition {
    pub families: Vec<Family>,
}

impl Exposition {
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|f| f.name == name)
    }

    /// Samples named `name` whose labels include every pair of `labels`.
    pub fn find<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.families
            .iter()
            .flat_map(|f| &f.samples)
            .filter(move |s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == Some(*v)))
    }

    /// The value of the one sample named `name` with exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.find(name, labels)
            .find(|s| s.labels.len() == labels.len())
            .map(|s| s.value)
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ if s.is_empty()
            || s.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E') =>
        {
            None
        }
        _ => s.parse().ok(),
    }
}

/// A sample's name and labels, and the rest of its line.
type Series<'a> = (String, Vec<(String, String)>, &'a str);

/// Parses `name{a="b",c="d"}` from the start of `s`; returns the rest.
fn parse_series(s: &str) -> Result<Series<'_>, String> {
    let end = s.find(['{', ' ']).ok_or("a sample needs a value")?;
    let name = &s[..end];
    if !is_name(name) {
        return Err(format!("'{name}' is not a metric name"));
    }
    let mut rest = &s[end..];
    let mut labels = Vec::new();
    if let Some(r) = rest.strip_prefix('{') {
        rest = r;
        let mut seen = HashSet::new();
        loop {
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            if !labels.is_empty() {
                rest = rest
                    .strip_prefix(',')
                    .ok_or("labels are separated by ','")?;
            }
            let eq = rest.find('=').ok_or("a label needs '='")?;
            let key = &rest[..eq];
            if !is_name(key) || key.contains(':') {
                return Err(format!("'{key}' is not a label name"));
            }
            if !seen.insert(key.to_owned()) {
                return Err(format!("label '{key}' appears twice"));
            }
            rest = rest[eq + 1..]
                .strip_prefix('"')
                .ok_or("label values are quoted")?;
            let mut value = String::new();
            let mut chars = rest.char_indices();
            let close = loop {
                match chars.next() {
                    Some((i, '"')) => break i,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        Some((_, 'n')) => value.push('\n'),
                        _ => return Err("bad escape in a label value".into()),
                    },
                    Some((_, '\n')) | None => return Err("unterminated label value".into()),
                    Some((_, c)) => value.push(c),
                }
            };
            rest = &rest[close + 1..];
            labels.push((key.to_owned(), value));
        }
    }
    Ok((name.to_owned(), labels, rest))
}

/// Parses an OpenMetrics text exposition, checking its structure.
pub fn parse(text: &str) -> Result<Exposition, String> {
    let body = text
        .strip_suffix("# EOF\n")
        .or_else(|| text.strip_suffix("# EOF"))
        .ok_or("the exposition must end with '# EOF'")?;
    let mut out = Exposition::default();
    let mut names = HashSet::new();
    // The metadata keywords the current family has had.
    let mut typed: HashSet<&str> = HashSet::new();
    for (n, line) in body.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if line.is_empty() {
            return Err(at("empty lines are not allowed".into()));
        }
        if let Some(meta) = line.strip_prefix("# ") {
            let mut parts = meta.splitn(3, ' ');
            let (kw, name, rest) = (parts.next(), parts.next(), parts.next());
            let name = name
                .filter(|n| is_name(n))
                .ok_or_else(|| at("no metric name".into()))?;
            if !matches!(kw, Some("TYPE" | "HELP" | "UNIT")) {
                return Err(at("unknown comment".into()));
            }
            // Metadata lines of a family come together, in any order, before
            // its samples; a new name starts a new family.
            let starts_family = out.families.last().is_none_or(|f| f.name != name);
            if starts_family {
                if !names.insert(name.to_owned()) {
                    return Err(at(format!("family '{name}' appears twice")));
                }
                out.families.push(Family {
                    name: name.to_owned(),
                    kind: MetricType::Unknown,
                    help: None,
                    samples: vec![],
                });
                typed.clear();
            }
            let fam = out
                .families
                .last_mut()
                .ok_or_else(|| at("no family".into()))?;
            if !fam.samples.is_empty() {
                return Err(at("metadata after the family's samples".into()));
            }
            let kw = kw.unwrap_or_default();
            if !typed.insert(kw) {
                return Err(at(format!("a second '# {kw}' for '{name}'")));
            }
            match kw {
                "TYPE" => {
                    fam.kind = rest
                        .and_then(MetricType::parse)
                        .ok_or_else(|| at("unknown type".into()))?;
                }
                "HELP" => fam.help = Some(rest.unwrap_or_default().to_owned()),
                _ => {}
            }
            continue;
        }
        if line.starts_with('#') {
            return Err(at(
                "comments are '# TYPE', '# HELP', '# UNIT' or '# EOF'".into()
            ));
        }
        let (name, labels, rest) = parse_series(line).map_err(at)?;
        let rest = rest
            .strip_prefix(' ')
            .ok_or_else(|| at("a space before the value".into()))?;
        let rest = rest.split(" # ").next().unwrap_or_default();
        let mut fields = rest.split(' ');
        let value = fields
            .next()
            .and_then(parse_value)
            .ok_or_else(|| at("not a number".into()))?;
        if let Some(ts) = fields.next() {
            parse_value(ts).ok_or_else(|| at("bad timestamp".into()))?;
        }
        if fields.next().is_some() {
            return Err(at("trailing fields".into()));
        }
        let fam = out
            .families
            .last_mut()
            .ok_or_else(|| at("a sample before any '# TYPE'".into()))?;
        let belongs = fam
            .kind
            .suffixes()
            .iter()
            .any(|suffix| name.strip_suffix(suffix) == Some(fam.name.as_str()));
        if !belongs {
            return Err(at(format!("not a sample of family '{}'", fam.name)));
        }
        if fam.kind == MetricType::Counter
            && name.ends_with("_total")
            && (value.is_nan() || value < 0.0)
        {
            return Err(at("a counter cannot be negative".into()));
        }
        if fam.kind == MetricType::Histogram
            && name.ends_with("_bucket")
            && !labels.iter().any(|(k, _)| k == "le")
        {
            return Err(at("a bucket needs 'le'".into()));
        }
        fam.samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    for fam in out
        .families
        .iter()
        .filter(|f| f.kind == MetricType::Histogram)
    {
        check_histogram(fam)?;
    }
    Ok(out)
}

/// Per series: buckets cumulative, ending at `+Inf`, which equals `_count`.
fn check_histogram(fam: &Family) -> Result<(), String> {
    let series_of = |s: &Sample| -> Vec<(String, String)> {
        s.labels
            .iter()
            .filter(|(k, _)| k != "le")
            .cloned()
            .collect()
    };
    let bucket_name = format!("{}_bucket", fam.name);
    let count_name = format!("{}_count", fam.name);
    let mut seen: Vec<Vec<(String, String)>> = Vec::new();
    for s in fam.samples.iter().filter(|s| s.name == count_name) {
        let series = series_of(s);
        if seen.contains(&series) {
            continue;
        }
        let mut last = (f64::NEG_INFINITY, 0.0);
        let mut inf = None;
        for b in fam
            .samples
            .iter()
            .filter(|b| b.name == bucket_name && series_of(b) == series)
        {
            let le = b
                .label("le")
                .and_then(parse_value)
                .ok_or(format!("{}: bad 'le'", fam.name))?;
            if le <= last.0 || b.value < last.1 {
                return Err(format!("{}: buckets are not cumulative", fam.name));
            }
            last = (le, b.value);
            if le == f64::INFINITY {
                inf = Some(b.value);
            }
        }
        if inf != Some(s.value) {
            return Err(format!(
                "{}: the '+Inf' bucket must exist and equal _count",
                fam.name
            ));
        }
        seen.push(series);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_exposition_parses() {
        let text = "# HELP x_requests Requests.\n# TYPE x_requests counter\n\
x_requests_total{route=\"/a/{id}\",status=\"200\"} 3\n\
# TYPE x_latency histogram\n\
x_latency_sum 0.5\nx_latency_count 2\n\
x_latency_bucket{le=\"0.1\"} 1\nx_latency_bucket{le=\"+Inf\"} 2\n# EOF\n";
        let p = parse(text).unwrap();
        assert_eq!(
            p.value(
                "x_requests_total",
                &[("route", "/a/{id}"), ("status", "200")]
            ),
            Some(3.0)
        );
        assert_eq!(
            p.family("x_requests").unwrap().help.as_deref(),
            Some("Requests.")
        );
    }

    #[test]
    fn malformed_expositions_are_refused() {
        for bad in [
            "# TYPE a counter\na_total 1\n",                       // no EOF
            "# TYPE a counter\na 1\n# EOF\n",                      // counter without _total
            "# TYPE a gauge\nb 1\n# EOF\n",                        // foreign sample
            "# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n# EOF\n",       // duplicate label
            "# TYPE a gauge\na{x=1} 1\n# EOF\n",                   // unquoted
            "# TYPE a gauge\na one\n# EOF\n",                      // not a number
            "# TYPE a gauge\n# TYPE a gauge\n# EOF\n",             // type twice
            "# TYPE a gauge\n# TYPE b gauge\n# HELP a x\n# EOF\n", // family twice
            "# TYPE h histogram\nh_count 2\nh_bucket{le=\"1\"} 2\n# EOF\n", // no +Inf
            "# TYPE h histogram\nh_count 2\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n# EOF\n",
        ] {
            assert!(parse(bad).is_err(), "accepted: {bad:?}");
        }
    }
}
