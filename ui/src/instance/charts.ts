import uPlot from 'uplot';
import { h } from '../dom.ts';
import { chartColumns, summaries, type ChartColumns, type MetricName, type MetricsAnswer } from './metrics.ts';
import { bytes, ms, percent, rate } from './numbers.ts';
import { xRange } from './x-range.ts';
import { axisWidth, BYTE_STEPS, loneSamples } from './y-axis.ts';

/*
 * The instance page's five charts (uPlot, drawn on canvas; its styles are set through the
 * CSSOM, which the dashboard's CSP allows). Each chart is a <figure id="chart-NAME"> whose
 * plot is role="img" with the latest numbers as its name, and whose caption repeats them as
 * text in <p class="latest" data-metric="NAME" data-latest="RAW NUMBER">: "now" while the
 * instance runs, its last values once it has stopped (`setLive`).
 */

type Colour = '--accent' | '--ok' | '--warn' | '--bad' | '--idle';

interface LineSpec {
  label: string;
  colour: Colour;
  dash?: number[];
  /**
   * Join the samples across the points without one. Latency exists only where requests were
   * timed: drawn with gaps, sporadic traffic left lone dots two pixels wide.
   */
  join?: boolean;
  pick: (c: ChartColumns) => (number | null)[];
}

interface ChartSpec {
  name: MetricName;
  title: string;
  lines: LineSpec[];
  axis: (v: number) => string;
  /** The y scale: from 0, up to at least `floor`. */
  floor: number;
  /** The y axis' tick steps, where uPlot's decimal ones make odd labels. */
  yIncrs?: readonly number[];
}

const SPECS: ChartSpec[] = [
  {
    name: 'requests', title: 'Requests per second', axis: rate, floor: 1,
    lines: [
      { label: 'requests/s', colour: '--accent', pick: (c) => c.requestRate },
      { label: '5xx/s', colour: '--bad', dash: [4, 3], pick: (c) => c.errorRate },
    ],
  },
  {
    name: 'latency', title: 'Latency', axis: ms, floor: 1,
    lines: [
      { label: 'p50', colour: '--ok', join: true, pick: (c) => c.p50 },
      { label: 'p95', colour: '--warn', dash: [6, 3], join: true, pick: (c) => c.p95 },
      { label: 'p99', colour: '--bad', dash: [2, 2], join: true, pick: (c) => c.p99 },
    ],
  },
  { name: 'cpu', title: 'CPU', axis: percent, floor: 100, lines: [{ label: 'CPU %', colour: '--accent', pick: (c) => c.cpu }] },
  { name: 'gpu', title: 'GPU', axis: percent, floor: 100, lines: [{ label: 'GPU %', colour: '--idle', pick: (c) => c.gpu }] },
  { name: 'memory', title: 'Memory', axis: bytes, floor: 1024 * 1024, yIncrs: BYTE_STEPS, lines: [{ label: 'memory', colour: '--idle', pick: (c) => c.memory }] },
];

const HEIGHT = 170;
/** The steps between time ticks, seconds (uPlot's, up to a day, with 2 min added). */
const X_STEPS_S = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 4 * 3600, 6 * 3600, 12 * 3600, 86400];

interface Chart {
  spec: ChartSpec;
  figure: HTMLElement;
  plot: HTMLDivElement;
  latest: HTMLParagraphElement;
  u: uPlot | null;
}

export interface Charts {
  /** The section to put on the page. */
  element: HTMLElement;
  /** Draws `answer`; `live`: the instance runs, so its latest samples are "now". */
  update(answer: MetricsAnswer, live: boolean): void;
  /** The instance started or stopped running: the words change, the answer held stays. */
  setLive(live: boolean): void;
  destroy(): void;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

export function createCharts(): Charts {
  const charts: Chart[] = SPECS.map((spec) => {
    const titleId = `chart-${spec.name}-title`;
    const plot = h('div', { class: 'plot', role: 'img', 'aria-label': `${spec.title}: no data yet` });
    const latest = h('p', { class: 'latest', 'data-metric': spec.name, 'data-latest': '' }, 'Loading…');
    const figure = h('figure', { class: 'chart', id: `chart-${spec.name}`, 'aria-labelledby': titleId },
      h('figcaption', {}, h('h3', { id: titleId }, spec.title), latest),
      plot);
    return { spec, figure, plot, latest, u: null };
  });
  const element = h('div', { class: 'charts' }, ...charts.map((c) => c.figure));

  let columns: ChartColumns | null = null;
  let held: MetricsAnswer | null = null;
  let isLive = true;
  /** The answer's window, Unix ms. */
  let shown = { from: 0, to: 0 };

  const data = (c: Chart, cols: ChartColumns): uPlot.AlignedData => [cols.x, ...c.spec.lines.map((l) => l.pick(cols))] as uPlot.AlignedData;

  const make = (c: Chart, cols: ChartColumns) => {
    const fg = cssVar('--muted'), grid = cssVar('--line');
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: Math.max(200, c.plot.clientWidth),
      height: HEIGHT,
      cursor: { drag: { x: false, y: false } },
      // A key to the lines where there are several (no live values: the caption has the numbers).
      legend: { show: c.spec.lines.length > 1, live: false },
      scales: {
        x: {
          time: true,
          // From the plotted times and the window, not from the min and max passed in: for a lone
          // point uPlot passes max = min + 86400 / ms (2.7 years in seconds), see x-range.ts.
          range: (u) => xRange(u.data[0], shown.from, shown.to),
        },
        y: { range: (_u, _min, max) => [0, Math.max(c.spec.floor, Number.isFinite(max) ? max * 1.1 : 0)] },
      },
      axes: [
        // At least 60 px between time ticks ("10:16pm" ran into the next label at 1 min apart on a
        // 390 px page), and 2 min among the steps: uPlot's own go from 1 min straight to 5, which
        // leaves the 5 min axis a single label.
        { ...axis, space: 60, incrs: X_STEPS_S },
        {
          ...axis,
          values: (_u, splits) => splits.map((v) => c.spec.axis(v)),
          ...(c.spec.yIncrs ? { incrs: [...c.spec.yIncrs] } : {}),
          // As wide as the widest label: a fixed 64 px clipped `977 KiB` and `1.5 GiB` on the left.
          size: (u, values, axisIdx, cycle) => {
            const a = u.axes[axisIdx] as uPlot.Axis & { _size?: number; font?: unknown };
            // uPlot sizes the axes again until they settle; a later cycle keeps the first answer.
            if (cycle > 1 && a._size) return a._size;
            // uPlot holds the font as [css font, size] scaled by the device's pixel ratio.
            u.ctx.font = Array.isArray(a.font) ? String(a.font[0]) : String(a.font ?? '');
            const ratio = devicePixelRatio || 1;
            return axisWidth(values ?? [], (t) => u.ctx.measureText(t).width / ratio, (a.ticks?.size ?? 10) + (a.gap ?? 5));
          },
        },
      ],
      series: [
        {},
        ...c.spec.lines.map((l) => ({
          label: l.label, stroke: cssVar(l.colour), width: 2, dash: l.dash, spanGaps: l.join === true,
          // uPlot marks points only where the x axis is sparse, not where the values are: on an
          // hour of 10 s points a sample between gaps was a 2 px speck. It gets a dot instead.
          points: {
            size: 6,
            // Not every point (`show`), only those the filter names: uPlot draws them when it names any.
            show: false,
            filter: (u: uPlot, i: number) => {
              const lone = loneSamples(u.data[i] ?? [], l.join === true);
              return lone.length ? lone : null;
            },
          },
        })),
      ],
    };
    c.u = new uPlot(opts, data(c, cols), c.plot);
  };

  const draw = (c: Chart) => {
    if (!columns) return;
    if (c.plot.hidden) return;
    if (!c.u) make(c, columns);
    else c.u.setData(data(c, columns));
  };

  // Follow the width of the page (390 px phones to wide screens).
  const resize = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const c = charts.find((x) => x.plot === entry.target);
      const width = Math.floor(entry.contentRect.width);
      if (c?.u && width > 0 && Math.abs(c.u.width - width) > 1) c.u.setSize({ width: Math.max(200, width), height: HEIGHT });
    }
  });
  for (const c of charts) resize.observe(c.plot);

  // Canvas colours come from the stylesheet's variables: redraw when the colour scheme changes.
  const scheme = matchMedia('(prefers-color-scheme: dark)');
  const recolour = () => {
    for (const c of charts) {
      c.u?.destroy();
      c.u = null;
      draw(c);
    }
  };
  scheme.addEventListener('change', recolour);

  /** The words under each chart (and its text alternative); a GPU chart without samples keeps only them. */
  const describe = (answer: MetricsAnswer) => {
    const words = summaries(answer, isLive);
    for (const c of charts) {
      const s = words[c.spec.name];
      if (c.latest.textContent !== s.text) c.latest.textContent = s.text;
      c.latest.dataset.latest = s.value;
      c.plot.setAttribute('aria-label', `${c.spec.title}: ${s.text}`);
      // No GPU sample at all: the chart would be empty, so only the words stay.
      if (c.spec.name === 'gpu') {
        const none = s.value === '';
        c.plot.hidden = none;
        c.figure.classList.toggle('none', none);
      }
    }
  };

  return {
    element,
    update(answer, live) {
      columns = chartColumns(answer);
      shown = { from: answer.from, to: answer.to };
      held = answer;
      isLive = live;
      describe(answer);
      for (const c of charts) draw(c);
    },
    setLive(live) {
      if (live === isLive) return;
      isLive = live;
      if (held) describe(held);
    },
    destroy() {
      resize.disconnect();
      scheme.removeEventListener('change', recolour);
      for (const c of charts) c.u?.destroy();
    },
  };
}
