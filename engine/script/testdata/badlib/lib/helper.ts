export function helper(): number {
  let n: number = 1;
  return n +* 2;
}
