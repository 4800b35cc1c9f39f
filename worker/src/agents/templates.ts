/**
 * Ready command lines for the common CLI coding agents (`--agent claude|codex|opencode`):
 * each runs the agent once, non-interactively, allowed to edit its work tree and nothing
 * else asked of it, with the prompt as its last argument; `env` names the variables it needs
 * from the volunteer (passed when set, besides `--agent-env`).
 */
export interface AgentTemplate {
  /** What it is, for --help and the docs. */
  about: string
  command: string
  env: string[]
  /** Whether the prompt also goes to its stdin (some read stdin as added context, the prompt twice). */
  stdin: boolean
}

export const AGENT_TEMPLATES = {
  claude: {
    about: 'Claude Code in print mode, edits accepted',
    command: 'claude -p --permission-mode acceptEdits --output-format text',
    env: ['ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'ANTHROPIC_MODEL'],
    stdin: false
  },
  codex: {
    about: 'OpenAI Codex CLI, exec mode, its own sandbox writing the work tree only',
    command: 'codex exec --sandbox workspace-write --skip-git-repo-check --ephemeral',
    env: ['CODEX_API_KEY', 'OPENAI_API_KEY', 'OPENAI_BASE_URL'],
    stdin: false
  },
  opencode: {
    about: 'opencode, run mode',
    command: 'opencode run',
    env: ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'OPENROUTER_API_KEY', 'OPENCODE_CONFIG'],
    stdin: false
  }
} as const satisfies Record<string, AgentTemplate>

export type AgentTemplateName = keyof typeof AGENT_TEMPLATES

export const isAgentTemplate = (name: string): name is AgentTemplateName => Object.hasOwn(AGENT_TEMPLATES, name)
