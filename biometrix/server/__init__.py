"""The HTTPS JSON API (``biometrix server``; extra 'server': FastAPI, uvicorn): one process shares one service (its
store, models and identification indexes) between requests, each acting for the operator its session token names."""
