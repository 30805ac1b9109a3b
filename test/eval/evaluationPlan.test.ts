import { planEvaluation, type PlanVideo } from '../../src/eval/evaluationPlan';

const videos: PlanVideo[] = [
  { key: 'a/1', identity: 'a', frames: 20 },
  { key: 'b/1', identity: 'b', frames: 12 },
  { key: 'c/1', identity: 'c', frames: 40 },
];

test('targets are shared across K, shots are nested and never targets', () => {
  const plan = planEvaluation(videos, { shotCounts: [1, 8, 32], targets: 4, seed: 3 });
  const ofVideo = (key: string) => plan.units.filter((u) => u.video === key);
  const c = ofVideo('c/1');
  expect(c.map((u) => u.shots)).toEqual([1, 8, 32]);
  for (const u of c) {
    expect(u.targetFrames).toEqual(c[0]!.targetFrames);
    expect(u.shotFrames).toHaveLength(u.shots);
    expect(new Set(u.shotFrames).size).toBe(u.shots);
    expect(u.shotFrames.some((j) => u.targetFrames.includes(j))).toBe(false);
  }
  expect(c[1]!.shotFrames).toEqual(expect.arrayContaining(c[0]!.shotFrames));
  expect(c[2]!.shotFrames).toEqual(expect.arrayContaining(c[1]!.shotFrames));
});

test('a video too short for K shots plus the targets is skipped with the reason', () => {
  const plan = planEvaluation(videos, { shotCounts: [1, 8, 32], targets: 4, seed: 3 });
  expect(plan.skipped).toEqual([
    { video: 'a/1', shots: 32, reason: 'has 20 frames; 32 shots and 4 targets need 36' },
    { video: 'b/1', shots: 32, reason: 'has 12 frames; 32 shots and 4 targets need 36' },
  ]);
  expect(plan.units.filter((u) => u.video === 'b/1').map((u) => u.shots)).toEqual([1, 8]);
});

test('the plan is a function of the seed; --videos takes a seeded subset in store order', () => {
  const opts = { shotCounts: [8], targets: 4, seed: 5 };
  expect(planEvaluation(videos, opts)).toEqual(planEvaluation(videos, opts));
  expect(planEvaluation(videos, { ...opts, seed: 6 }).units[0]!.shotFrames).not.toEqual(
    planEvaluation(videos, opts).units[0]!.shotFrames,
  );
  const two = planEvaluation(videos, { ...opts, maxVideos: 2 });
  expect(two.videos).toHaveLength(2);
  const order = two.videos.map((v) => videos.indexOf(v));
  expect(order).toEqual([...order].sort());
});

describe('across recordings', () => {
  // The webcam speaker's two recordings, a person with one, and a third of the speaker's.
  const recordings: PlanVideo[] = [
    { key: 'webcam/cap12', identity: 'webcam', frames: 40 },
    { key: 'webcam/cap13', identity: 'webcam', frames: 30 },
    { key: 'webcam/short', identity: 'webcam', frames: 5 },
    { key: 'solo/1', identity: 'solo', frames: 50 },
  ];
  const plan = planEvaluation(recordings, {
    shotCounts: [1, 8],
    targets: 6,
    seed: 2,
    acrossRecordings: true,
  });

  test('each unit takes its shots from another recording of the same identity', () => {
    const pairs = plan.units.map((u) => `${u.video}<-${u.shotVideo}#${u.shots}`);
    expect(pairs).toEqual([
      'webcam/cap12<-webcam/cap13#1',
      'webcam/cap12<-webcam/cap13#8',
      'webcam/cap12<-webcam/short#1',
      'webcam/cap13<-webcam/cap12#1',
      'webcam/cap13<-webcam/cap12#8',
      'webcam/cap13<-webcam/short#1',
    ]);
    for (const u of plan.units) {
      const shots = recordings.find((v) => v.key === u.shotVideo)!;
      expect(u.shotFrames).toHaveLength(u.shots);
      expect(u.shotFrames.every((j) => j >= 0 && j < shots.frames)).toBe(true);
    }
  });

  test('the targets spread over the whole target video; shots are nested per pair', () => {
    const cap13 = plan.units.filter(
      (u) => u.video === 'webcam/cap13' && u.shotVideo === 'webcam/cap12',
    );
    expect(cap13[0]!.targetFrames).toEqual([2, 7, 12, 17, 22, 27]);
    expect(cap13[1]!.targetFrames).toEqual(cap13[0]!.targetFrames);
    expect(cap13[1]!.shotFrames).toEqual(expect.arrayContaining(cap13[0]!.shotFrames));
  });

  test('what cannot be paired is skipped with the reason', () => {
    expect(plan.skipped).toEqual([
      {
        video: 'webcam/cap12<-webcam/short',
        shots: 8,
        reason: 'webcam/short has 5 frames; 8 shots need more',
      },
      {
        video: 'webcam/cap13<-webcam/short',
        shots: 8,
        reason: 'webcam/short has 5 frames; 8 shots need more',
      },
      { video: 'webcam/short', shots: 1, reason: 'has 5 frames; 6 targets need more' },
      { video: 'webcam/short', shots: 8, reason: 'has 5 frames; 6 targets need more' },
      { video: 'solo/1', shots: 1, reason: 'no other recording of solo' },
      { video: 'solo/1', shots: 8, reason: 'no other recording of solo' },
    ]);
  });

  test('shotsFrom keeps the pairs whose shots come from that video, with the same frames', () => {
    const fromCap12 = planEvaluation(recordings, {
      shotCounts: [1, 8],
      targets: 6,
      seed: 2,
      acrossRecordings: true,
      shotsFrom: 'webcam/cap12',
    });
    expect(fromCap12.units).toEqual(plan.units.filter((u) => u.shotVideo === 'webcam/cap12'));
    expect(fromCap12.units.map((u) => `${u.video}<-${u.shotVideo}#${u.shots}`)).toEqual([
      'webcam/cap13<-webcam/cap12#1',
      'webcam/cap13<-webcam/cap12#8',
    ]);
  });
});
