import pw from 'playwright-core';
try {
const b = await pw.firefox.launch({ channel: 'moz-firefox', executablePath: '/usr/bin/firefox-esr', headless: true });
const ctx = await b.newContext({ colorScheme: 'no-override', reducedMotion: 'no-override', forcedColors: 'no-override', contrast: 'no-override' });
const p = await ctx.newPage();
await p.setContent('<h1>hi</h1><input type=file id=f>');
console.log(await p.textContent('h1'), b.version());
await b.close();
} catch (e) { console.log(String(e.message).slice(0, 1500)); }
