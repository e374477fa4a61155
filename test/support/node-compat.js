// aws-local-stepfunctions uses Promise.withResolvers (Node 22+); this spec-exact polyfill lets the local
// workflow tests run on Node 20 too.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
