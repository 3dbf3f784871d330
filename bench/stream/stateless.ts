// The benchmark's stateless pipeline: the function form (rivulet run --input/--output),
// decoding each JSON event, dropping one in ten and re-encoding the rest with a field added.

interface Event { n: number; ts: number }

export default (r: { key: string; value: Event }) => (r.value.n % 10 === 9 ? undefined : { value: { ...r.value, even: r.value.n % 2 === 0 } });
