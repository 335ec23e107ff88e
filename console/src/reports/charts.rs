//! Horizontal bar charts as inline SVG, drawn here (no chart library: a few rectangles do
//! not justify one). [`layout`] is the arithmetic, [`BarChart`] the drawing.

use leptos::prelude::*;

/// Width of the whole chart in SVG units; the label column and the value text take their
/// share, the bars the rest.
const WIDTH: f64 = 420.0;
const LABEL: f64 = 150.0;
const VALUE: f64 = 40.0;
const ROW: f64 = 24.0;
const BAR: f64 = 16.0;

/// One bar: its label, value, and where it is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: u32,
    pub y: f64,
    pub width: f64,
}

/// Bars scaled to the largest value (which fills the bar column); zero stays zero width, and
/// an all-zero chart draws no bars but keeps its rows.
pub fn layout(items: &[(String, u32)]) -> Vec<Bar> {
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0);
    let span = WIDTH - LABEL - VALUE;
    items
        .iter()
        .enumerate()
        .map(|(i, (label, value))| Bar {
            label: label.clone(),
            value: *value,
            y: i as f64 * ROW,
            width: if max == 0 {
                0.0
            } else {
                span * f64::from(*value) / f64::from(max)
            },
        })
        .collect()
}

/// A titled bar chart; `testid` names it for tests, each bar carries its value.
#[component]
pub fn BarChart(
    title: Signal<&'static str>,
    testid: &'static str,
    items: Vec<(String, u32)>,
) -> impl IntoView {
    let bars = layout(&items);
    let height = (bars.len().max(1) as f64) * ROW;
    let total: u32 = items.iter().map(|(_, v)| v).sum();
    view! {
        <figure class="rp-chart" data-testid=testid data-total=total>
            <figcaption>{move || title.get()}</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {height}") width="100%" role="img"
                aria-label=move || title.get()>
                {bars.into_iter().map(|b| {
                    let text_y = b.y + ROW / 2.0 + 4.0;
                    view! {
                        <g class="rp-bar" data-label=b.label.clone() data-value=b.value>
                            <text x="0" y=text_y class="rp-label">{b.label.clone()}</text>
                            <rect x=LABEL y=b.y + (ROW - BAR) / 2.0 width=b.width height=BAR rx="2"></rect>
                            <text x=LABEL + b.width + 4.0 y=text_y class="rp-value">{b.value}</text>
                        </g>
                    }
                }).collect_view()}
            </svg>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_value() {
        let bars = layout(&[("a".into(), 4), ("b".into(), 1), ("c".into(), 0)]);
        let span = WIDTH - LABEL - VALUE;
        assert_eq!(bars[0].width, span);
        assert_eq!(bars[1].width, span / 4.0);
        assert_eq!(bars[2].width, 0.0);
        assert_eq!(bars[2].y, 2.0 * ROW);
    }

    #[test]
    fn an_empty_range_draws_no_bars() {
        assert!(layout(&[("a".into(), 0)]).iter().all(|b| b.width == 0.0));
        assert!(layout(&[]).is_empty());
    }
}
