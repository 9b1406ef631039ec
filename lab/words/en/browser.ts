// What `npm run lab -- browser` says (lab/browser.ts). Its --check output is JSON: data, not words.

export const browser = {
  noBrowser: 'no Chromium or Chrome on PATH (apt install chromium), so no browser as the phone',
  noCertutil: "no certutil on PATH (apt install libnss3-tools): it puts the lab's root CA into the throwaway profile",
  certutilFailed: (step: string, why: string) => `certutil ${step} failed: ${why}`,
  loopbackResolver: (rules: string) => `On loopback the browser's resolver is told where the names are (${rules}); with --net ns it asks the lab's local DNS.`,
  opening: (url: string, namespace: string | undefined) =>
    `Opening ${url}${namespace ? ` in the phone's namespace ${namespace}` : ''} with a throwaway profile that trusts the lab's root CA. Close the browser (or Ctrl-C) to end.`,
  pipe: (why: string) => `the browser's pipe: ${why}`,
  exited: (how: string) => `the browser exited (${how})`,
  exitCode: (code: number | null) => `code ${code}`,
  noAnswer: (method: string, seconds: number) => `the browser did not answer ${method} within ${seconds} s`,
  noLoad: (seconds: number) => `the browser did not load the page within ${seconds} s`,
  scriptFailed: (why: string) => `the page's script failed: ${why}`,
  browserSaid: (line: string) => ` (browser: ${line})`,
  cannotRemoveProfile: (dir: string | undefined, why: string) => `could not remove the throwaway profile ${dir}: ${why}`,
};
