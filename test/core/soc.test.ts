import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  classify,
  dueEstimate,
  estimateSoc,
  reclassify,
  recordReport,
  trapezoidKwh,
  type SocClass,
  type SocTrack,
} from '../../core/soc';

const opts = { criticalSoc: 20, hysteresis: 2 };

describe('core/soc classify', () => {
  it('is critical below the threshold and normal at or above it when coming from normal', () => {
    assert.equal(classify(19.9, false, 'normal', opts), 'critical');
    assert.equal(classify(20, false, 'normal', opts), 'normal');
    assert.equal(classify(19, false, null, opts), 'critical');
    assert.equal(classify(50, false, undefined, opts), 'normal');
  });

  it('keeps a critical vehicle critical until criticalSoc + hysteresis', () => {
    assert.equal(classify(20, false, 'critical', opts), 'critical');
    assert.equal(classify(21.9, false, 'critical', opts), 'critical');
    assert.equal(classify(22, false, 'critical', opts), 'normal');
  });

  it('makes priority vehicles critical whatever their SoC', () => {
    assert.equal(classify(95, true, 'normal', opts), 'critical');
    assert.equal(classify(null, true, null, opts), 'critical');
  });

  it('keeps the previous class when the SoC is unknown', () => {
    assert.equal(classify(null, false, 'critical', opts), 'critical');
    assert.equal(classify(null, false, null, opts), 'normal');
    assert.equal(classify(Number.NaN, false, 'critical', opts), 'critical');
  });

  it('does not flap: a walk of SoC values changes class only across the band edges', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 17, max: 25, noNaN: true }), { minLength: 1, maxLength: 60 }),
        (walk) => {
          let cls: SocClass | null = null;
          for (const soc of walk) {
            const next = classify(soc, false, cls, opts);
            if (cls !== null && next !== cls) {
              if (next === 'critical') assert.ok(soc < 20, `to critical at ${soc}`);
              else assert.ok(soc >= 22, `to normal at ${soc}`);
            }
            cls = next;
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('core/soc estimateSoc', () => {
  it('adds delivered energy over the capacity', () => {
    assert.equal(estimateSoc(50, 6, 60), 60);
    assert.equal(estimateSoc(20, 1.5, 75), 22);
  });

  it('caps at 100 and floors at 0', () => {
    assert.equal(estimateSoc(95, 30, 60), 100);
    assert.equal(estimateSoc(-5, 0, 60), 0);
  });

  it('returns the reported value for an unusable capacity or energy', () => {
    assert.equal(estimateSoc(40, 5, 0), 40);
    assert.equal(estimateSoc(40, 5, Number.NaN), 40);
    assert.equal(estimateSoc(40, Number.POSITIVE_INFINITY, 60), 40);
  });
});

describe('core/soc trapezoidKwh', () => {
  it('integrates one trapezoid in kWh', () => {
    // 50 kW → 70 kW over 36 s: mean 60 kW × 0.01 h = 0.6 kWh
    assert.ok(Math.abs(trapezoidKwh(50, 70, 0, 36_000) - 0.6) < 1e-12);
  });

  it('is 0 for a zero or negative interval', () => {
    assert.equal(trapezoidKwh(50, 70, 1000, 1000), 0);
    assert.equal(trapezoidKwh(50, 70, 2000, 1000), 0);
  });
});

describe('core/soc track (the SoC record of one vehicle)', () => {
  const fresh = (): SocTrack => ({
    soc: null,
    socSource: null,
    socTs: null,
    socReported: null,
    socReportedTs: null,
    socReportedSource: null,
    energySinceReportKwh: 0,
    socClass: null,
  });

  it('takes a new report, ignores an older one, and a repetition only moves the report time', () => {
    const t = fresh();
    assert.equal(recordReport(t, 40, 'vehicle', 1000), true);
    assert.deepEqual([t.socReported, t.socReportedTs, t.socReportedSource], [40, 1000, 'vehicle']);
    assert.equal(recordReport(t, 30, 'node', 900), false, 'older');
    assert.equal(t.socReported, 40);
    t.energySinceReportKwh = 2;
    assert.equal(recordReport(t, 40, 'vehicle', 2000), false, 'same value, same source');
    assert.equal(t.socReportedTs, 2000);
    assert.equal(t.energySinceReportKwh, 2, 'the estimate base is kept');
    assert.equal(recordReport(t, 40, 'node', 2000), true, 'same value from another source is news');
    assert.equal(t.energySinceReportKwh, 0);
  });

  it('gives an estimate only when it moved by the step (or reached 100)', () => {
    const t = fresh();
    assert.equal(dueEstimate(t, 50, 0.5), null, 'nothing reported');
    recordReport(t, 50, 'vehicle', 0);
    t.soc = 50;
    assert.equal(dueEstimate(t, 50, 0.5), null, 'no energy yet');
    t.energySinceReportKwh = 0.2; // 0.4 points of 50 kWh
    assert.equal(dueEstimate(t, 50, 0.5), null);
    t.energySinceReportKwh = 1; // 2 points
    assert.equal(dueEstimate(t, 50, 0.5), 52);
    t.soc = 99.9;
    t.energySinceReportKwh = 100;
    assert.equal(dueEstimate(t, 50, 0.5), 100, 'reaching 100 always counts');
  });

  it('reclassifies with hysteresis and says whether the class changed', () => {
    const t = fresh();
    t.soc = 19;
    assert.equal(reclassify(t, false, opts), true);
    assert.equal(t.socClass, 'critical');
    t.soc = 21;
    assert.equal(reclassify(t, false, opts), false);
    t.soc = 22;
    assert.equal(reclassify(t, false, opts), true);
    assert.equal(t.socClass, 'normal');
    assert.equal(reclassify(t, true, opts), true, 'priority');
    assert.equal(t.socClass, 'critical');
  });
});
