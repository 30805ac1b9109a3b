/**
 * a·X + b·p·qᵀ in one pass, a kernel of backends that have it (native): inputs x (any shape of
 * p.length·q.length elements, read as a [p.length, q.length] matrix), p, q, and the scalars a
 * and b; output in x's shape. Spectral norm's W/σ and its gradient (src/ops/rankOneUpdate.ts).
 */
export const RANK_ONE_UPDATE = 'TalkingHeadsRankOneUpdate';
