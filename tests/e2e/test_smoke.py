from tests.conftest import Api, order_body


def test_ingested_order_can_be_partially_refunded(api: Api) -> None:
    # given
    order = api.client.post("/v1/orders", json=order_body()).json()
    mug = order["lines"][0]
    # when
    response = api.client.post(
        f"/v1/orders/{order['id']}/refund",
        json={"lines": [{"line_id": mug["id"], "quantity": 1}], "reason": "chipped"},
    )
    # then
    assert response.status_code == 201, response.text
    refund = response.json()
    # one mug: 1290 - half of 258 discount + half of 464 tax
    assert refund["amount"] == 1290 - 129 + 232
    assert refund["order"]["order_status"] == "partially_refunded"
