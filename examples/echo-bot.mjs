// A bot module for msgbot-gateway: `msgbot-gateway serve --handlers ./examples/echo-bot.mjs`.
// `# hello` answers `hi <sender>`; the built-in commands (`# echo`, …) keep working beside it.
export default {
  commands: [{ prefix: '# hello', run: (ctx) => ctx.reply(`hi ${ctx.sender}`) }],
};
