/**
 * The daemon's counters and the Prometheus text format (version 0.0.4) they are served in on
 * `/metrics`. Counters live as long as the process (Prometheus handles resets); gauges are read
 * when scraped.
 */

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  return `{${keys.map((k) => `${k}="${esc(labels[k] as string)}"`).join(',')}}`;
}

class Family {
  readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
  ) {}

  add(labels: Labels, by = 1): void {
    const key = labelText(labels);
    const entry = this.values.get(key) ?? { labels, value: 0 };
    entry.value += by;
    this.values.set(key, entry);
  }

  set(labels: Labels, value: number): void {
    this.values.set(labelText(labels), { labels, value });
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    const entries = [...this.values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.length === 0 && this.type === 'gauge') lines.push(`${this.name} 0`);
    for (const [key, { value }] of entries) lines.push(`${this.name}${key} ${formatNumber(value)}`);
    return lines.join('\n');
  }
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  return String(n);
}

export class Metrics {
  private readonly families = new Map<string, Family>();

  constructor() {
    this.family('vultron_mail_messages_total', 'Inbound messages handled, by outcome.', 'counter');
    this.family('vultron_mail_quarantined_total', 'Inbound messages quarantined, by reason.', 'counter');
    this.family('vultron_mail_outbox_sent_total', 'Outbox rows delivered.', 'counter');
    this.family(
      'vultron_mail_outbox_failed_total',
      'Failed delivery attempts (retried later, or given up).',
      'counter',
    );
    this.family('vultron_mail_outbox_gave_up_total', 'Outbox rows given up on.', 'counter');
    this.family(
      'vultron_mail_transitions_total',
      'Protocol transitions applied, by message code.',
      'counter',
    );
    this.family('vultron_mail_timers_fired_total', 'Case timers fired.', 'counter');
  }

  family(name: string, help: string, type: 'counter' | 'gauge'): Family {
    let f = this.families.get(name);
    if (!f) {
      f = new Family(name, help, type);
      this.families.set(name, f);
    }
    return f;
  }

  inc(name: string, labels: Labels = {}, by = 1): void {
    const f = this.families.get(name);
    if (!f) throw new Error(`unknown metric ${name}`);
    f.add(labels, by);
  }

  get(name: string, labels: Labels = {}): number {
    return this.families.get(name)?.get(labels) ?? 0;
  }

  /** The text format; `gauges` are added for this scrape only. */
  render(gauges: Array<{ name: string; help: string; value: number; labels?: Labels }> = []): string {
    const parts = [...this.families.values()].map((f) => f.render());
    const extra = new Map<string, Family>();
    for (const g of gauges) {
      let f = extra.get(g.name);
      if (!f) {
        f = new Family(g.name, g.help, 'gauge');
        extra.set(g.name, f);
      }
      f.set(g.labels ?? {}, g.value);
    }
    for (const f of extra.values()) parts.push(f.render());
    return `${parts.join('\n')}\n`;
  }
}
