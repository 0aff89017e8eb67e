// Checks of raw values from outside the decoded contract path (restore records, operator
// input, config): finite numbers, ids, optional values.

export const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const isNonNeg = (v: unknown): v is number => isNum(v) && v >= 0;
export const isSoc = (v: unknown): v is number => isNum(v) && v >= 0 && v <= 100;
export const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
export const optNum = (v: unknown): number | null => (isNum(v) ? v : null);
export const optStr = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
