import { HTTPException } from 'hono/http-exception'
import { describe, expect, it } from 'vitest'
import { answerOf, MethodNotAllowed, NotFound, RateLimited, TooManyStreams, TooManyStreamsFromClient } from './errors.ts'

describe('site errors', () => {
  it('answer with their status, API name, message and headers', () => {
    expect(answerOf(new NotFound('there is no candidate #9'))).toMatchObject({ status: 404, name: 'NotFound', title: 'Not found', message: 'there is no candidate #9', headers: {} })
    expect(answerOf(new MethodNotAllowed('POST is not allowed'))).toMatchObject({ status: 405, name: 'MethodNotAllowed', headers: { Allow: 'GET, HEAD' } })
    expect(answerOf(new RateLimited(3))).toMatchObject({ status: 429, name: 'RateLimited', message: 'too many requests; retry in 3 s', headers: { 'Retry-After': '3' } })
    expect(answerOf(new TooManyStreamsFromClient(4))).toMatchObject({ status: 429, name: 'TooManyStreamsFromClient', headers: { 'Retry-After': '30' } })
    expect(answerOf(new TooManyStreamsFromClient(4)).message).toContain('4 live connections')
    expect(answerOf(new TooManyStreams())).toMatchObject({ status: 503, name: 'TooManyStreams', headers: { 'Retry-After': '30' } })
  })

  it('are HTTPExceptions, so Hono answers them even where no onError maps them', () => {
    expect(new NotFound('x')).toBeInstanceOf(HTTPException)
    expect(answerOf(new HTTPException(400, { message: 'bad' }))).toMatchObject({ status: 400, name: 'HTTPException', message: 'bad' })
  })

  it('never show what an unexpected error says', () => {
    const a = answerOf(new Error('SQLITE_CORRUPT at /home/secret/coordinator.db'))
    expect(a).toMatchObject({ status: 500, name: 'InternalError', message: 'the coordinator failed to answer this request' })
  })
})
